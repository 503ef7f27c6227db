// Boot of /supervisor: log in (or reuse the tab's session), open /ws/supervisor, draw.

import { Session, loginForm } from "../common/session.js";
import { ReconnectingClient, socketUrl } from "../common/ws.js";
import { toast } from "../common/dom.js";
import { Dashboard } from "./dashboard.js";
import { serverCapabilities, supervisorOps } from "./ops.js";

const root = document.getElementById("app");
const session = new Session("callcenter.supervisor");

async function start() {
  if (!session.data) {
    await loginForm(root, { title: "Supervisor", subtitle: "Live queues and agents", session, roles: ["supervisor", "admin"] });
  }
  let client = null;
  const capabilities = await serverCapabilities().catch(() => null);
  const ops = supervisorOps(session, capabilities);
  const board = new Dashboard(root, ops, {
    role: session.data.role,
    onLogout: () => {
      client.stop();
      session.clear();
      board.destroy();
      start();
    },
  });
  client = new ReconnectingClient({
    url: socketUrl("/ws/supervisor"),
    token: () => session.token,
    isAuthAnswer: (msg) => msg.type === "snapshot",
    onAuthed: (data, msg) => {
      if (msg.type === "snapshot") board.handlePush(msg);
    },
    onPush: (msg) => board.handlePush(msg),
    onStatus: (status) => {
      if (status === "unauthorized") {
        session.clear();
        board.destroy();
        toast("Your session ended. Please sign in again.", "bad");
        start();
        return;
      }
      board.setConnection(status);
    },
  });
  client.start();
  board.loadDirectory();
  board.startDayRefresh();
  window.dashboard = board;
  window.supervisorClient = client;
}

start();
