// Supervisor controls in dialogs: routing settings (queue priorities, tier head starts,
// IVR flow hot-reload) and moving a waiting contact to another queue.

import { h, fill, setText, toast, tierBadge } from "../common/dom.js";
import { duration, humanize } from "../common/format.js";

export const PRIORITY_LIMITS = { min: 0, max: 100 };
export const HEAD_START_LIMITS = { min: 0, max: 3600 };
const TIERS = ["standard", "silver", "gold", "key", "strategic"];

function dialog(root, title, id) {
  const body = h("div", { class: "dialog-body" });
  const closeBtn = h("button", { class: "btn ghost sm", type: "button", text: "Close", "aria-label": `Close ${title}` });
  const el = h("dialog", { class: "panel dialog", "aria-labelledby": id },
    h("div", { class: "panel-head" }, h("h2", { id, text: title }), closeBtn), body);
  closeBtn.addEventListener("click", () => el.close());
  root.append(el);
  return { el, body };
}

function numberField(label, value, limits, id) {
  const input = h("input", {
    class: "field num", type: "number", id, min: String(limits.min), max: String(limits.max), step: "1",
    value: value === null || value === undefined ? "" : String(value), "aria-label": label, required: true,
  });
  return input;
}

/** A whole number within limits, or an error message. */
export function checkLimit(raw, limits, what) {
  const text = String(raw).trim();
  if (!/^\d+$/.test(text)) return { error: `${what}: a whole number from ${limits.min} to ${limits.max}` };
  const value = Number(text);
  if (value < limits.min || value > limits.max) return { error: `${what}: must be between ${limits.min} and ${limits.max}` };
  return { value };
}

export class RoutingPanel {
  constructor(root, ops, queues, { canEditQueues = true } = {}) {
    this.ops = ops;
    this.queues = queues;
    this.canEditQueues = canEditQueues;
    const { el, body } = dialog(root, "Routing settings", "routing-title");
    this.el = el;
    this.body = body;
  }

  async open() {
    fill(this.body, h("p", { class: "muted", text: "Loading…" }));
    this.el.showModal();
    let headStarts = null;
    let headStartsProblem = "";
    try {
      headStarts = (await this.ops.headStarts()) || {};
    } catch (err) {
      headStartsProblem = `Head starts cannot be changed here: ${err.message || err.code}. They are set in the server configuration ([routing] head_starts).`;
    }
    this.render(headStarts, headStartsProblem);
  }

  render(headStarts, headStartsProblem = "") {
    const queues = this.queues();
    const priorityInputs = new Map();
    const queueRows = queues.map((q) => {
      const id = `prio-${q.name}`;
      const input = numberField(`Base priority of ${q.name}`, q.basePriority ?? 0, PRIORITY_LIMITS, id);
      input.disabled = !this.canEditQueues;
      priorityInputs.set(q.name, input);
      return h("tr", {}, h("td", {}, h("label", { for: id, text: q.name })), h("td", { class: "r" }, input));
    });
    const error = h("p", { class: "form-error", role: "alert" });
    const savePriorities = h("button", { class: "btn primary", type: "button", text: "Save priorities", disabled: !this.canEditQueues });
    savePriorities.addEventListener("click", async () => {
      setText(error, "");
      const changes = [];
      for (const [name, input] of priorityInputs) {
        const checked = checkLimit(input.value, PRIORITY_LIMITS, name);
        if (checked.error) {
          setText(error, checked.error);
          input.focus();
          return;
        }
        const q = queues.find((x) => x.name === name);
        if (!q || q.basePriority !== checked.value) changes.push([name, checked.value]);
      }
      try {
        for (const [name, value] of changes) await this.ops.setQueuePriority(name, value);
        toast(changes.length ? `Saved ${changes.length} queue priorit${changes.length === 1 ? "y" : "ies"}` : "Nothing changed", "ok");
      } catch (err) {
        setText(error, err.message || err.code);
      }
    });

    const tierInputs = new Map();
    const tierRows = headStarts === null ? [] : TIERS.map((tier) => {
      const id = `head-${tier}`;
      const input = numberField(`Head start of ${tier} in seconds`, headStarts[tier] ?? 0, HEAD_START_LIMITS, id);
      tierInputs.set(tier, input);
      return h("tr", {}, h("td", {}, h("label", { for: id }, tierBadge(tier))), h("td", { class: "r" }, input, h("span", { class: "muted small", text: " s" })));
    });
    const tierError = h("p", { class: "form-error", role: "alert" });
    const saveTiers = h("button", { class: "btn primary", type: "button", text: "Save head starts" });
    saveTiers.addEventListener("click", async () => {
      setText(tierError, "");
      const values = {};
      for (const [tier, input] of tierInputs) {
        const checked = checkLimit(input.value, HEAD_START_LIMITS, humanize(tier));
        if (checked.error) {
          setText(tierError, checked.error);
          input.focus();
          return;
        }
        values[tier] = checked.value;
      }
      try {
        await this.ops.setHeadStarts(values);
        toast("Tier head starts saved", "ok");
      } catch (err) {
        setText(tierError, err.message || err.code);
      }
    });

    const canReload = !this.ops.has || this.ops.has("POST /api/v1/ivr/flows/reload");
    const flowsStatus = h("p", { class: "muted small", role: "status",
      text: canReload ? "" : "This server has no reload API yet; flows load at start-up (callcenter check-flows validates them)." });
    const reload = h("button", { class: "btn", type: "button", text: "Reload IVR flows", disabled: !canReload });
    reload.addEventListener("click", async () => {
      reload.disabled = true;
      setText(flowsStatus, "Reloading…");
      try {
        const data = (await this.ops.reloadFlows()) || {};
        const flows = data.flows || data.loaded || [];
        setText(flowsStatus, `Reloaded ${Array.isArray(flows) ? flows.length : ""} flow(s). Calls in progress keep the version they started with.`);
      } catch (err) {
        const where = (err.fields || []).map((f) => `${f.path}: ${f.message}`).join("; ");
        setText(flowsStatus, `Not reloaded (the running flows stay): ${where || err.message || err.code}`);
      } finally {
        reload.disabled = false;
      }
    });

    fill(this.body,
      h("section", { class: "settings-block" },
        h("h3", { text: "Queue priority" }),
        h("p", { class: "muted small", text: `Base priority ${PRIORITY_LIMITS.min}–${PRIORITY_LIMITS.max}; a higher queue head-starts its contacts.` }),
        h("table", { class: "grid compact" }, h("tbody", {}, queueRows)),
        this.canEditQueues ? null : h("p", { class: "muted small", text: "Changing a queue needs the admin role." }),
        error, h("div", { class: "actions" }, savePriorities)),
      h("section", { class: "settings-block" },
        h("h3", { text: "Tier head starts" }),
        h("p", { class: "muted small", text: `Seconds of head start per customer tier (${HEAD_START_LIMITS.min}–${HEAD_START_LIMITS.max}). A key account arriving now goes before standard customers who arrived up to that many seconds earlier, never before longer waits.` }),
        headStarts === null ? h("p", { class: "muted small notice", text: headStartsProblem })
          : [h("table", { class: "grid compact" }, h("tbody", {}, tierRows)), tierError, h("div", { class: "actions" }, saveTiers)]),
      h("section", { class: "settings-block" },
        h("h3", { text: "IVR flows" }),
        h("p", { class: "muted small", text: "Validate and load the flows from the flows folder. A flow with errors is refused and the running version stays." }),
        h("div", { class: "actions" }, flowsStatus, reload)));
  }
}

export class MoveDialog {
  constructor(root, ops, queues) {
    this.ops = ops;
    this.queues = queues;
    const { el, body } = dialog(root, "Waiting contacts", "move-title");
    this.el = el;
    this.body = body;
    this.title = el.querySelector("#move-title");
  }

  async open(queue) {
    setText(this.title, `Waiting in ${queue}`);
    fill(this.body, h("p", { class: "muted", text: "Loading…" }));
    this.el.showModal();
    let waiting = [];
    try {
      waiting = (await this.ops.waiting(queue)) || [];
    } catch (err) {
      fill(this.body, h("p", { class: "form-error", text: `Could not list the waiting contacts: ${err.message || err.code}` }));
      return;
    }
    const others = this.queues().map((q) => q.name).filter((name) => name !== queue);
    const rows = waiting.map((c) => {
      const id = String(c.contact_id ?? c.id);
      const target = h("select", { class: "field sm", "aria-label": `Move contact ${id} to queue` },
        others.map((name) => h("option", { value: name, text: name })));
      const move = h("button", { class: "btn sm", type: "button", text: "Move", disabled: others.length === 0 });
      move.addEventListener("click", async () => {
        move.disabled = true;
        try {
          await this.ops.moveContact(id, target.value);
          toast(`Moved ${id} to ${target.value}`, "ok");
          row.remove();
        } catch (err) {
          toast(`Not moved: ${err.message || err.code}`, "bad");
          move.disabled = false;
        }
      });
      const row = h("tr", {},
        h("td", { class: "mono", text: id }),
        h("td", {}, tierBadge(c.tier)),
        h("td", { text: c.customer_name || (c.customer && c.customer.name) || "" }),
        h("td", { class: "r num", text: duration(c.waited_s ?? c.wait_s) }),
        h("td", { class: "r" }, target, " ", move));
      return row;
    });
    fill(this.body, rows.length
      ? h("table", { class: "grid compact" },
        h("thead", {}, h("tr", {}, ["Contact", "Tier", "Customer", "Waited", "Move to"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, rows))
      : h("p", { class: "empty", text: "Nobody is waiting in this queue." }));
  }
}
