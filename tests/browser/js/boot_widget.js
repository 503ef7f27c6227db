async () => {
  const { ChatWidget } = await import('/ui/chat/widget.js');
  window.sent = [];
  const transport = {
    start: async (fields) => { window.sent.push({type: 'start', ...fields}); return {contact_id: 'c-5', estimated_wait_s: 130}; },
    request: async (type, fields) => { window.sent.push({type, ...fields}); return {at: new Date().toISOString()}; },
    leave: async () => { window.sent.push({type: 'leave'}); },
  };
  window.widget = new ChatWidget(document.getElementById('chat'), transport, {shop: 'Demo Shop'});
}
