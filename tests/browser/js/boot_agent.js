async () => {
  const { AgentConsole } = await import('/ui/agent/console.js');
  window.sent = [];
  const acks = {accept: {state: 'connected'}, set_state: {state: 'available', pending: false},
                chat_send: {at: new Date().toISOString()}, end: {state: 'wrap_up'},
                wrap_up_done: {state: 'completed'}, reject: {state: 'queued'}};
  const transport = {request: async (type, fields) => {
    window.sent.push({type, ...fields});
    return acks[type] || {};
  }};
  const c = new AgentConsole(document.getElementById('app'), transport, {name: 'Li Na', extension: '7012'});
  c.setConnection('online');
  c.resume({agent_id: 'a-7012', state: 'available', reason: '', pending: null, contacts: []});
  window.agentConsole = c;
}
