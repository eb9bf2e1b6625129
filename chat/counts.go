package chat

// ChatsByAgent returns the live chats (attached or within their grace
// period) per agent address as the widget named it (Visitor.AgentURI),
// for the admin view.
func (m *Manager) ChatsByAgent() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int, len(m.byAgent))
	for _, c := range m.byToken {
		out[c.visitor.AgentURI]++
	}
	return out
}
