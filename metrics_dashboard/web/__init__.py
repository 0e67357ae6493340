"""The web app: the Dash app, its server features, background jobs and WSGI serving."""
