/*
 * Timeline playback of the dashboards, entirely in the browser (no server request per step).
 *
 * The server sends the frames once in a dcc.Store (analytics/dashboard_model.py playback_data,
 * with components/timeline.py playback_look).
 * The clientside callbacks below, registered from Python with ClientsideFunction, turn the
 * controls into a slider value ("control") and show the frame of the slider value ("render");
 * "filter" hides the cards that the filters leave out.
 *
 * The gauge cards are plain DOM built here from the page's template card and changed in place:
 * setting a CSS variable and a text on the cards whose value changed. Returning a children tree
 * instead makes React and Dash diff 100 to 300 cards of components on every step, several times
 * slower (benchmarks/bench_playback.py measures both). The small Plotly figures are returned as
 * outputs, so that Dash's Graph redraws them (Plotly.react) and their theme stays in sync.
 */
(function () {
  "use strict";

  const cardCache = new Map(); // prefix -> {grid, payload, refs}
  const visibleItems = new WeakMap(); // payload -> per item: kept by the filters
  const renderedFrame = new Map(); // prefix -> last frame shown
  const expectedTraces = new Map(); // graph id -> the first trace returned for the last frame
  let lastPayload = null;

  function noUpdates(count) {
    return Array(count).fill(window.dash_clientside.no_update);
  }

  function setText(element, text) {
    if (!element) {
      return;
    }
    const node = element.firstChild;
    if (node && node.nodeType === Node.TEXT_NODE && !node.nextSibling) {
      if (node.nodeValue !== text) {
        node.nodeValue = text;
      }
    } else {
      element.textContent = text;
    }
  }

  function percentText(value, payload) {
    return value === null || value === undefined ? payload.noValue : value.toFixed(1) + "%";
  }

  // The cards are built here, once per payload, from the page's hidden template card (one card
  // rendered by Dash; see components/gauges.py for why the grid is not made of Dash components).
  // Names go in through textContent: text, never parsed as HTML.
  function buildCards(payload, grid) {
    const template = document.querySelector("#" + payload.prefix + "-card-template .md-card");
    const fragment = document.createDocumentFragment();
    const refs = [];
    const visible = visibleItems.get(payload);
    payload.names.forEach(function (name, i) {
      const card = template.cloneNode(true);
      card.dataset.mdIndex = String(i);
      card.title = "Show the timeline of " + name;
      card.hidden = Boolean(visible) && !visible[i];
      const title = card.querySelector(".md-card-title");
      title.textContent = name;
      title.title = name;
      card.querySelector(".md-card-subtitle").textContent = payload.types[i];
      card.querySelector(".md-card-facts").textContent = payload.facts[i];
      refs.push({
        card: card,
        gauge: card.querySelector(".md-gauge"),
        status: card.querySelector(".md-status-text"),
        live: card.querySelector(".md-card-live"),
        shownScore: undefined,
        shownCode: undefined,
        shownCount: undefined,
      });
      fragment.appendChild(card);
    });
    grid.replaceChildren(fragment);
    grid.onclick = function (event) {
      const card = event.target.closest("[data-md-index]");
      if (card) {
        showDrilldown(payload, Number(card.dataset.mdIndex));
      }
    };
    return refs;
  }

  function showDrilldown(payload, index) {
    window.dash_clientside.set_props(payload.prefix + "-drilldown-select", {
      value: payload.ids[index],
    });
    const section = document.getElementById(payload.prefix + "-drilldown-section");
    if (section) {
      section.scrollIntoView({ block: "nearest" });
    }
  }

  function cardRefs(payload) {
    const grid = document.getElementById(payload.prefix + "-cards");
    if (!grid) {
      return [];
    }
    const cached = cardCache.get(payload.prefix);
    if (cached && cached.grid === grid && cached.payload === payload) {
      return cached.refs;
    }
    const refs = buildCards(payload, grid);
    cardCache.set(payload.prefix, { grid: grid, payload: payload, refs: refs });
    return refs;
  }

  // Writes only what changed since the card's last frame: during playback most cards keep
  // their value from one frame to the next.
  function updateCards(payload, frame) {
    const refs = cardRefs(payload);
    const scores = payload.scores[frame];
    const codes = payload.codes[frame];
    const counts = payload.counts ? payload.counts[frame] : null;
    for (let i = 0; i < refs.length; i++) {
      const ref = refs[i];
      if (!ref) {
        continue;
      }
      const score = scores[i];
      if (score !== ref.shownScore) {
        ref.shownScore = score;
        ref.gauge.style.setProperty("--md-gauge-value", score === null ? "0" : String(score / 100));
        setText(ref.gauge, percentText(score, payload));
      }
      const code = codes[i];
      if (code !== ref.shownCode) {
        ref.shownCode = code;
        ref.card.style.setProperty("--md-gauge-color", payload.colors[code]);
        ref.status.className = payload.statusClasses[code];
        setText(ref.status, payload.statusTexts[code]);
      }
      if (counts && ref.live && counts[i] !== ref.shownCount) {
        ref.shownCount = counts[i];
        setText(ref.live, String(counts[i]));
      }
    }
  }

  // The small Plotly figures of a frame: the base figure (built by the server for the current
  // theme) with the frame's value in its first trace. Plotly.react redraws only what changed.
  function frameFigure(key, base, payload, frame, graphId) {
    let patch;
    if (key === "gauge") {
      patch = { value: payload.aggregated[frame] };
    } else if (key === "donut") {
      patch = { values: payload.tally[frame] };
    } else {
      return window.dash_clientside.no_update;
    }
    const trace = Object.assign({}, base.data[0], patch);
    expectedTraces.set(graphId, trace);
    return {
      data: [trace].concat(base.data.slice(1)),
      layout: Object.assign({}, base.layout),
    };
  }

  function clampFrame(value, payload) {
    const last = payload.labels.length - 1;
    const frame = value === null || value === undefined ? last : Math.round(Number(value));
    return Math.max(0, Math.min(last, frame));
  }

  function triggeredProps() {
    const context = window.dash_clientside.callback_context || {};
    return (context.triggered || []).map(function (item) {
      return item.prop_id;
    });
  }

  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.metricsPlayback = {
    control: function (playClicks, resetClicks, ticks, speed, value, paused, payload) {
      const keep = window.dash_clientside.no_update;
      if (!payload || !payload.labels.length) {
        return noUpdates(4);
      }
      const prefix = payload.prefix;
      const last = payload.labels.length - 1;
      const interval = payload.baseInterval / (Number(speed) || 1);
      const frame = clampFrame(value, payload);
      const triggered = triggeredProps();
      if (triggered.includes(prefix + "-reset.n_clicks")) {
        return [0, true, interval, payload.playText];
      }
      if (triggered.includes(prefix + "-play.n_clicks")) {
        if (paused) {
          return [frame >= last ? 0 : keep, false, interval, payload.pauseText];
        }
        return [keep, true, interval, payload.playText];
      }
      if (triggered.includes(prefix + "-interval.n_intervals")) {
        if (paused) {
          return noUpdates(4);
        }
        const next = Math.min(frame + 1, last);
        return next >= last ? [next, true, interval, payload.playText] : [next, keep, keep, keep];
      }
      return [keep, keep, interval, keep];
    },

    render: function (value, figures, payload) {
      const context = window.dash_clientside.callback_context || {};
      const outputCount = (context.outputs_list || []).length;
      if (!payload || !payload.labels.length) {
        return noUpdates(outputCount);
      }
      const frame = clampFrame(value, payload);
      updateCards(payload, frame);
      const shown = [payload.labels[frame], percentText(payload.aggregated[frame], payload)];
      for (const key of payload.figures) {
        const base = figures ? figures[key] : null;
        const graphId = payload.prefix + "-" + key;
        shown.push(
          base ? frameFigure(key, base, payload, frame, graphId) : window.dash_clientside.no_update
        );
      }
      for (const count of payload.tally[frame]) {
        shown.push(String(count));
      }
      lastPayload = payload;
      renderedFrame.set(payload.prefix, frame);
      return shown;
    },

    // The live mode's interval runs only while its switch is on.
    pausedUnless: function (on) {
      return !on;
    },

    // Hides the cards the filters leave out; on a dashboard with a table (a grid of final
    // figures) it also gives the grid the rows kept (AG Grid draws those in view).
    filter: function (types, statuses, payload) {
      const context = window.dash_clientside.callback_context || {};
      const withRows = (context.outputs_list || []).length > 1;
      if (!payload) {
        return withRows ? noUpdates(2) : window.dash_clientside.no_update;
      }
      const typeSet = types && types.length ? new Set(types) : null;
      const statusSet = statuses && statuses.length ? new Set(statuses) : null;
      const visible = payload.ids.map(function (_id, i) {
        return (
          (!typeSet || typeSet.has(payload.types[i])) &&
          (!statusSet || statusSet.has(payload.finalStatuses[i]))
        );
      });
      visibleItems.set(payload, visible);
      const items = document.querySelectorAll("#" + payload.prefix + "-cards [data-md-index]");
      for (const element of items) {
        element.hidden = !visible[Number(element.dataset.mdIndex)];
      }
      const count = visible.filter(Boolean).length;
      const summary = "Showing " + count + " of " + payload.ids.length;
      if (!withRows) {
        return summary;
      }
      return [summary, (payload.rows || []).filter(function (_row, i) {
        return visible[i];
      })];
    },
  };

  // A task boundary without setTimeout's 4 ms clamping, so that measurements stay fine-grained.
  const channel = new MessageChannel();
  const waiting = [];
  channel.port1.onmessage = function () {
    const resolve = waiting.shift();
    if (resolve) {
      resolve();
    }
  };
  function nextTask() {
    return new Promise(function (resolve) {
      waiting.push(resolve);
      channel.port2.postMessage(null);
    });
  }

  // Whether the graph has drawn the figure of the last frame: Dash's Graph marks itself
  // pending until Plotly.react is done, and then holds the very trace object returned.
  function graphDrawn(graphId) {
    const trace = expectedTraces.get(graphId);
    const outer = document.getElementById(graphId);
    const plot = outer ? outer.querySelector(".js-plotly-plot") : null;
    if (!trace || !plot) {
      return true;
    }
    const pending = plot.classList.contains("dash-graph--pending");
    return !pending && Boolean(plot.data) && plot.data[0] === trace;
  }

  // A hook for tests and benchmarks: show a frame as the slider would and resolve, with the
  // milliseconds it took, once every part of the dashboard shows it (laid out, not painted).
  window.metricsPlayback = {
    step: async function (frame, timeoutMs) {
      const payload = lastPayload;
      if (!payload) {
        throw new Error("no dashboard timeline has been rendered yet");
      }
      const prefix = payload.prefix;
      const label = document.getElementById(prefix + "-instant");
      const graphIds = payload.figures.map(function (key) {
        return prefix + "-" + key;
      });
      const deadline = performance.now() + (timeoutMs || 10000);
      const started = performance.now();
      window.dash_clientside.set_props(prefix + "-slider", { value: frame });
      for (;;) {
        const done =
          renderedFrame.get(prefix) === frame &&
          label.textContent === payload.labels[frame] &&
          graphIds.every(graphDrawn);
        if (done) {
          break;
        }
        if (performance.now() > deadline) {
          throw new Error("frame " + frame + " was not shown in time");
        }
        await nextTask();
      }
      void document.body.offsetHeight; // style and layout of the changes, inside the measurement
      return performance.now() - started;
    },
    frameCount: function () {
      return lastPayload ? lastPayload.labels.length : 0;
    },
    shownFrame: function () {
      return lastPayload ? renderedFrame.get(lastPayload.prefix) : undefined;
    },
  };
})();
