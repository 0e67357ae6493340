/*
 * What the app's AG Grids (dash-ag-grid) call in the browser: cell renderers
 * (window.dashAgGridComponentFunctions), functions named in column definitions
 * (window.dashAgGridFunctions, evaluated by dash-ag-grid's safe evaluator, never eval) and the
 * clientside callbacks of the configuration grids (window.dash_clientside.metricsGrids).
 * Everything from the data is put in as text (React escapes it), never as HTML.
 */
(function () {
  "use strict";

  function h() {
    return window.React.createElement.apply(null, arguments);
  }

  const components = (window.dashAgGridComponentFunctions =
    window.dashAgGridComponentFunctions || {});

  // A status as the dashboard cards write it: its icon (classes from the server, for known
  // statuses only) in the status colour, then the name.
  components.StatusText = function (props) {
    const value = props.value === null || props.value === undefined ? "" : String(props.value);
    const classes = props.classes || {};
    const colors = props.colors || {};
    return h(
      "span",
      {
        className: classes[value] || "md-status-text",
        style: { "--md-gauge-color": colors[value] || "inherit" },
      },
      value
    );
  };

  // Status badges with counts ([{text, className, icon}], built by components/reports.py).
  components.StatusBadges = function (props) {
    const badges = props.value || [];
    if (!badges.length) {
      return h("span", { className: "text-body-secondary" }, "—");
    }
    return h(
      "span",
      { className: "d-inline-flex flex-nowrap gap-1 status-counts" },
      badges.map(function (badge, index) {
        return h(
          "span",
          { key: index, className: badge.className, title: badge.text },
          h("i", { className: badge.icon, "aria-hidden": "true" }),
          badge.text
        );
      })
    );
  };

  // The way to a report's dashboard (nothing for a file that cannot be read).
  components.OpenLink = function (props) {
    if (!props.value) {
      return null;
    }
    return h(
      "a",
      { href: props.value, className: "btn btn-primary btn-sm report-open text-nowrap" },
      h("i", { className: "bi bi-box-arrow-in-right me-1", "aria-hidden": "true" }),
      "Open"
    );
  };

  function numberText(number) {
    return Number.isInteger(number) ? String(number) : String(Number(number.toPrecision(6)));
  }

  const functions = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});

  // Why a cell's value is not allowed, or null: the rule of NumberColumn.problem in
  // analytics/config_form.py, with the same words.
  functions.numberProblem = function (value, name, low, high, integer) {
    const range = numberText(low) + " to " + numberText(high);
    if (value === null || value === undefined || value === "" || typeof value === "boolean") {
      return name + " is empty (allowed " + range + ")";
    }
    const number = typeof value === "number" ? value : Number(String(value).trim());
    if (typeof value !== "number" && (String(value).trim() === "" || Number.isNaN(number))) {
      return name + " '" + String(value) + "' is not a number (allowed " + range + ")";
    }
    if (Number.isNaN(number) || number < low || number > high) {
      return name + " " + numberText(number) + " is out of range (allowed " + range + ")";
    }
    if (integer && !Number.isInteger(number)) {
      return name + " " + numberText(number) + " is not a whole number";
    }
    return null;
  };

  // An edited cell's text as a number when it reads as one; otherwise kept as typed, so that
  // the check can say what is wrong with it.
  functions.numberOrText = function (text) {
    const trimmed = text === null || text === undefined ? "" : String(text).trim();
    const number = Number(trimmed);
    return trimmed !== "" && !Number.isNaN(number) ? number : trimmed;
  };

  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.metricsGrids = {
    // "Select shown" adds the rows the filters show to the selection, "Clear shown" removes
    // them; the grid knows which rows are shown.
    changeShownSelection: function (_select, _clear, selected, gridId) {
      const api = window.dash_ag_grid.getApi(gridId);
      const context = window.dash_clientside.callback_context || {};
      const trigger = ((context.triggered || [])[0] || {}).prop_id || "";
      const chosen = new Set((selected || []).map(function (row) {
        return String(row.id);
      }));
      api.forEachNodeAfterFilter(function (node) {
        if (trigger.indexOf("-select-shown.") >= 0) {
          chosen.add(String(node.id));
        } else {
          chosen.delete(String(node.id));
        }
      });
      return { ids: Array.from(chosen) };
    },
  };
})();
