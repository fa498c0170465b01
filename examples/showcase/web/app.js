"use strict";
// The showcase page: plain DOM and WebSocket, no framework, no CDN.
(function () {
  var wsBase = (location.protocol === "https:" ? "wss://" : "ws://") + location.host;

  function $(id) { return document.getElementById(id); }

  // Appends a line to a log list and keeps it scrolled to the end.
  function log(list, text, cls, tag) {
    var li = document.createElement("li");
    if (cls) li.className = cls;
    if (tag) {
      var t = document.createElement("span");
      t.className = "tag";
      t.textContent = tag;
      li.appendChild(t);
    }
    li.appendChild(document.createTextNode(text));
    list.appendChild(li);
    list.scrollTop = list.scrollHeight;
    return li;
  }

  // What a server frame says, for the logs.
  function describe(msg) {
    var p = msg.payload;
    if (msg.action === "error") {
      return "error: " + (Array.isArray(p) ? p.map(function (e) {
        return e.loc.join(".") + ": " + e.msg;
      }).join("; ") : (p && p.detail) || JSON.stringify(p));
    }
    if (p && typeof p === "object") {
      if (p.message !== undefined) return p.message;
      if (p.event !== undefined) return p.event + (p.data != null ? " " + JSON.stringify(p.data) : "");
    }
    return typeof p === "string" ? p : JSON.stringify(msg);
  }

  // A WebSocket that reports its state and reconnects with backoff.
  function connect(path, handlers) {
    var ws, delay = 500, closed = false;
    function open() {
      ws = new WebSocket(wsBase + path);
      ws.onopen = function () { delay = 500; handlers.state("connected"); };
      ws.onmessage = function (e) {
        var msg;
        try { msg = JSON.parse(e.data); } catch (err) { return; }
        handlers.message(msg);
      };
      ws.onclose = function (e) {
        if (closed) return;
        handlers.state("disconnected (" + e.code + "), retrying…");
        setTimeout(open, delay);
        delay = Math.min(delay * 2, 8000);
      };
    }
    open();
    return {
      send: function (obj) {
        if (ws.readyState !== WebSocket.OPEN) return false;
        ws.send(JSON.stringify(obj));
        return true;
      },
      close: function () { closed = true; ws.close(1000); }
    };
  }

  // ---- tabs -----------------------------------------------------------------
  var started = {};
  function show(view) {
    document.querySelectorAll("#tabs button").forEach(function (b) {
      b.classList.toggle("active", b.dataset.view === view);
    });
    document.querySelectorAll(".view").forEach(function (v) {
      v.hidden = v.id !== "view-" + view;
    });
    if (!started[view] && starters[view]) { started[view] = true; starters[view](); }
    if (location.hash !== "#" + view) history.replaceState(null, "", "#" + view);
  }
  document.querySelectorAll("#tabs button").forEach(function (b) {
    b.addEventListener("click", function () { show(b.dataset.view); });
  });

  // ---- room chat (seed 001) ---------------------------------------------------
  var room = null;
  $("room-join-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var name = $("room-name").value.trim();
    if (!name) return;
    if (room) room.close();
    $("room-log").textContent = "";
    log($("room-log"), "Joining room '" + name + "'…", "mine");
    room = connect("/ws/room/" + encodeURIComponent(name), {
      state: function (s) {
        $("room-state").textContent = s + " · room " + name;
        var on = s === "connected";
        $("room-input").disabled = !on;
        $("room-send").disabled = !on;
        if (on) $("room-input").focus();
      },
      message: function (msg) {
        if (msg.action === "room_notification" || msg.action === "error") {
          log($("room-log"), describe(msg), msg.action === "error" ? "error" : "");
        }
      }
    });
  });
  $("room-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var text = $("room-input").value.trim();
    if (!text || !room) return;
    if (room.send({ action: "room_chat", payload: { message: text } })) $("room-input").value = "";
  });

  // ---- the four showcase consumers (seed 000) ---------------------------------
  function startPanel(panel) {
    var list = document.createElement("ul");
    list.className = "log";
    var form = document.createElement("form");
    form.className = "row";
    var input = document.createElement("input");
    input.placeholder = panel.dataset.field === "event" ? "page_view:/home" : "Message";
    input.autocomplete = "off";
    var button = document.createElement("button");
    button.type = "submit";
    button.textContent = "Send";
    var state = document.createElement("div");
    state.className = "state";
    form.appendChild(input);
    form.appendChild(button);
    panel.appendChild(state);
    panel.appendChild(list);
    panel.appendChild(form);
    var conn = connect(panel.dataset.path, {
      state: function (s) { state.textContent = s; },
      message: function (msg) {
        if (msg.action === "pong") return;
        log(list, describe(msg), msg.action === "error" ? "error" : "", msg.action);
      }
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var text = input.value.trim();
      if (!text) return;
      var payload = {};
      payload[panel.dataset.field] = text;
      if (conn.send({ action: panel.dataset.action, payload: payload })) input.value = "";
    });
  }

  // ---- system: background jobs and notifications (seed 002) ------------------
  function startSystem() {
    var system = connect("/ws/system", {
      state: function (s) { $("system-state").textContent = s; },
      message: function (msg) {
        if (msg.action === "system_notification") {
          log($("notice-log"), msg.payload, "", "notice");
        } else if (msg.action === "job_queued" || msg.action === "job_result") {
          log($("job-log"), msg.payload, msg.payload.indexOf("❌") === 0 ? "error" : "",
              msg.action === "job_queued" ? "queued" : "result");
        } else if (msg.action === "error") {
          log($("job-log"), describe(msg), "error");
        }
      }
    });
    $("task-form").addEventListener("submit", function (e) {
      e.preventDefault();
      var content = $("task-content").value.trim();
      if (!content) return;
      if (system.send({ action: "system_message",
                        payload: { task_type: $("task-type").value, content: content } }))
        $("task-content").value = "";
    });
  }

  var starters = {
    showcase: function () { document.querySelectorAll(".panel").forEach(startPanel); },
    system: startSystem
  };

  // ---- mode banner: which parts need Redis -------------------------------------
  fetch("/showcase/status.json").then(function (r) { return r.json(); }).then(function (s) {
    var box = $("mode");
    box.hidden = false;
    box.className = "mode " + s.mode;
    if (s.mode === "redis") {
      box.textContent = "Running on Redis (" + s.redis + "): every layer and the background worker are live.";
    } else {
      box.textContent = "Running on in-memory layers (no Redis). Everything in this page works within " +
        "this server, but these need Redis: " + s.needs_redis.join("; ") + ".";
    }
  }).catch(function () {});

  show((location.hash || "#room").slice(1) in { room: 1, showcase: 1, system: 1 }
       ? location.hash.slice(1) || "room" : "room");
})();
