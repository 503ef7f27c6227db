async (snapshot) => {
  const { Dashboard } = await import('/ui/supervisor/dashboard.js');
  window.calls = [];
  const ops = {
    intervals: async () => ({sl_target: 0.8, intervals: [
      {start: '2026-11-23T01:00:00Z', offered: 30, answered: 28, abandoned: 2, service_level: 0.85, staffed: 20, required: 18},
      {start: '2026-11-23T01:15:00Z', offered: 42, answered: 37, abandoned: 5, service_level: 0.71, staffed: 21, required: 24}]}),
    forceState: async (...args) => { window.calls.push(['forceState', ...args]); return {}; },
    headStarts: async () => ({standard: 0, silver: 15, gold: 30, key: 60, strategic: 120}),
    setHeadStarts: async (v) => { window.calls.push(['setHeadStarts', v]); return {}; },
    setQueuePriority: async (...args) => { window.calls.push(['setQueuePriority', ...args]); return {}; },
    reloadFlows: async () => ({flows: ['main']}),
    waiting: async (q) => [{contact_id: 'c-9', tier: 'gold', waited_s: 75, customer_name: 'Wu Lei'}],
    moveContact: async (...args) => { window.calls.push(['moveContact', ...args]); return {}; },
  };
  const d = new Dashboard(document.getElementById('app'), ops, {timeZone: 'Asia/Shanghai'});
  d.setConnection('online');
  d.handlePush(snapshot);
  await d.loadDay();
  window.dashboard = d;
}
