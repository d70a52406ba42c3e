// Enhances the console's plain forms: the users list searches as the
// admin types, and the member picker suggests users and groups, both over
// one live socket (see console/live.go). Both pages work without it. Names
// are set as text, never as markup.
(function () {
  "use strict";

  function debounce(fn, ms) {
    var t;
    return function () {
      clearTimeout(t);
      t = setTimeout(fn, ms);
    };
  }

  function cell(text, href) {
    var td = document.createElement("td");
    if (href) {
      var a = document.createElement("a");
      a.href = href;
      a.textContent = text;
      td.appendChild(a);
    } else {
      td.textContent = text;
    }
    return td;
  }

  function fetchJSON(url) {
    return fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); });
  }

  // ask sends a search over the page's live socket (/admin/live), opened
  // at the first search and again after it closes, and falls back to the
  // JSON page at url when the socket cannot open or fails.
  var ask = (function () {
    var socket = null, opened = false, unusable = false, seq = 0, waiting = {};
    function settleAll(err) {
      Object.keys(waiting).forEach(function (id) { waiting[id].reject(err); });
      waiting = {};
    }
    function open() {
      if (unusable || typeof WebSocket === "undefined") return null;
      if (socket) return socket;
      var s = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/admin/live");
      s.addEventListener("open", function () { opened = true; });
      s.addEventListener("message", function (ev) {
        var m = JSON.parse(ev.data), w = waiting[m.id];
        if (!w) return;
        delete waiting[m.id];
        if (m.error) w.reject(m.error); else w.resolve(m);
      });
      s.addEventListener("close", function () {
        if (!opened) unusable = true;
        opened = false;
        socket = null;
        settleAll("closed");
      });
      socket = s;
      return s;
    }
    return function (msg, url) {
      var s = open();
      if (!s) return fetchJSON(url);
      return new Promise(function (resolve, reject) {
        msg.id = ++seq;
        waiting[msg.id] = { resolve: resolve, reject: reject };
        var send = function () { s.send(JSON.stringify(msg)); };
        if (s.readyState === WebSocket.OPEN) send();
        else s.addEventListener("open", send, { once: true });
      }).catch(function (err) {
        return err === "closed" ? fetchJSON(url) : Promise.reject(err);
      });
    };
  })();

  var search = document.querySelector("input[data-live-users]");
  if (search) {
    var body = document.querySelector("#users tbody");
    var next = document.getElementById("users-next");
    search.addEventListener("input", debounce(function () {
      var q = search.value;
      ask({ kind: "users", q: q }, "/admin/users?format=json&q=" + encodeURIComponent(q))
        .then(function (data) {
          if (search.value !== q) return;
          body.textContent = "";
          data.users.forEach(function (u) {
            var tr = document.createElement("tr");
            tr.appendChild(cell(u.uid, "/admin/users/" + encodeURIComponent(u.uid)));
            tr.appendChild(cell(u.name));
            tr.appendChild(cell(u.mail));
            tr.appendChild(cell(u.disabled ? "disabled" : "active"));
            body.appendChild(tr);
          });
          if (!data.users.length) {
            var tr = document.createElement("tr");
            var td = cell("No users match.");
            td.colSpan = 4;
            tr.appendChild(td);
            body.appendChild(tr);
          }
          next.hidden = !data.next;
          if (data.next) next.querySelector("a").href = data.next;
          history.replaceState(null, "", "/admin/users?q=" + encodeURIComponent(q));
        })
        .catch(function () {});
    }, 200));
  }

  var picker = document.querySelector("input[data-picker]");
  if (picker) {
    var list = document.getElementById(picker.dataset.picker);
    picker.addEventListener("input", debounce(function () {
      var q = picker.value.replace(/^group:/, "");
      if (!q) { list.textContent = ""; return; }
      ask({ kind: "members", q: q }, "/admin/members?q=" + encodeURIComponent(q))
        .then(function (data) {
          if (picker.value.replace(/^group:/, "") !== q) return;
          list.textContent = "";
          list.dataset.query = q;
          data.members.forEach(function (m) {
            var li = document.createElement("li");
            var b = document.createElement("button");
            b.type = "button";
            b.className = "secondary small";
            b.dataset.ref = m.ref;
            b.textContent = m.label;
            b.addEventListener("click", function () {
              picker.value = m.ref;
              picker.form.submit();
            });
            li.appendChild(b);
            list.appendChild(li);
          });
        })
        .catch(function () {});
    }, 150));
  }
})();
