/*
 * Light/dark theme. This file is loaded in <head> (see dashboard_app.py), before the page
 * renders, so the saved theme applies without a flash of the other one. The theme lives in
 * the `app-theme` dcc.Store (localStorage, JSON-encoded); the clientside callbacks below switch
 * it and set Bootstrap's `data-bs-theme` on <html>.
 */
(function () {
    "use strict";
    var STORE_KEY = "app-theme";

    function normalise(theme) {
        return theme === "dark" ? "dark" : "light";
    }

    function applyTheme(theme) {
        document.documentElement.setAttribute("data-bs-theme", normalise(theme));
    }

    var saved = null;
    try {
        saved = JSON.parse(window.localStorage.getItem(STORE_KEY));
    } catch (error) {
        saved = null; // storage disabled or a value written by something else: use the default
    }
    applyTheme(saved);

    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        theme: {
            toggle: function (nClicks, current) {
                if (!nClicks) {
                    return window.dash_clientside.no_update;
                }
                return normalise(current) === "dark" ? "light" : "dark";
            },
            apply: function (theme) {
                applyTheme(theme);
                return normalise(theme) === "dark" ? "Switch to light theme" : "Switch to dark theme";
            }
        }
    });
})();
