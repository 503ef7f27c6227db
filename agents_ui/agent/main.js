// Boot of /agent: log in (or reuse the tab's session), open /ws/agent, start the console.

import { Session, loginForm } from "../common/session.js";
import { ReconnectingClient, socketUrl } from "../common/ws.js";
import { toast } from "../common/dom.js";
import { AgentConsole } from "./console.js";

const root = document.getElementById("app");
const session = new Session("callcenter.agent");

async function start() {
  if (!session.data) {
    await loginForm(root, { title: "Agent console", subtitle: "Sign in to take contacts", session, roles: ["agent"] });
  }
  let client = null;
  const me = {
    agent_id: session.data.agent_id,
    username: session.data.username,
    name: session.data.name,
    extension: session.data.extension,
    onLogout: () => {
      client.stop();
      session.clear();
      consoleView.destroy();
      start();
    },
  };
  const consoleView = new AgentConsole(root, null, me);
  // Audio may only start after a user gesture: the login click, or the first click after a reload.
  consoleView.alerter.unlock();
  document.addEventListener("pointerdown", () => consoleView.alerter.unlock(), { once: true });
  document.addEventListener("keydown", () => consoleView.alerter.unlock(), { once: true });

  client = new ReconnectingClient({
    url: socketUrl("/ws/agent"),
    token: () => session.token,
    onAuthed: (data) => consoleView.resume(data),
    onPush: (msg) => consoleView.handlePush(msg),
    onStatus: (status, detail) => {
      if (status === "unauthorized") {
        session.clear();
        consoleView.destroy();
        toast("Your session ended. Please sign in again.", "bad");
        start();
        return;
      }
      consoleView.setConnection(status, detail);
    },
  });
  consoleView.transport = client;
  consoleView.onRetry = () => client.retryNow();
  client.start();
  // Expose for the browser tests and for support staff poking at a live console.
  window.agentConsole = consoleView;
  window.agentClient = client;
}

start();
