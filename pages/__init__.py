"""The app's pages: one module per page, registered with ``dash.register_page``.

Every component id in a page starts with the page's name (``availability-config-table``), so ids
never collide across pages.
"""
