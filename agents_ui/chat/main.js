// Boot of /chat: the visitor starts a chat over HTTP, then talks over /ws/visitor.
// Page options in the URL: ?queue=chat_sales&shop=Demo%20Shop

import { api } from "../common/session.js";
import { ReconnectingClient, socketUrl } from "../common/ws.js";
import { ChatWidget } from "./widget.js";

const params = new URLSearchParams(location.search);
const queue = params.get("queue") || "chat_sales";
const storageKey = `callcenter.visitor.${queue}`;
let saved = null;
try {
  saved = JSON.parse(sessionStorage.getItem(storageKey) || "null");
} catch {
  saved = null;
}

let client = null;

function connect(widget, session) {
  client = new ReconnectingClient({
    url: socketUrl("/ws/visitor"),
    token: () => session.visitor_token,
    onAuthed: (data) => widget.resume(data),
    onPush: (msg) => widget.handlePush(msg),
    onStatus: (status) => {
      if (status === "unauthorized") {
        sessionStorage.removeItem(storageKey);
        widget.onEnded();
        return;
      }
      widget.setConnection(status);
    },
  });
  client.start();
  window.visitorClient = client;
}

const transport = {
  async start(fields) {
    const data = await api("/api/v1/chat/sessions", { method: "POST", body: { queue, ...fields } });
    saved = data;
    sessionStorage.setItem(storageKey, JSON.stringify(data));
    connect(widget, data);
    return data;
  },
  request(type, fields) {
    if (!client) return Promise.reject(new Error("not connected"));
    return client.request(type, fields);
  },
  async leave() {
    if (client && client.online) await client.request("leave", {}).catch(() => {});
    sessionStorage.removeItem(storageKey);
    if (client) client.stop();
  },
};

const widget = new ChatWidget(document.getElementById("chat"), transport, { shop: params.get("shop") || "" });
if (saved && saved.visitor_token) {
  widget.buildChat();
  connect(widget, saved);
}
window.chatWidget = widget;
