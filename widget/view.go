package widget

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/presence"
)

// encoded is one message, serialized once and shared by every session that
// sends it: the websocket frame is prepared once, however many visitors get
// it.
type encoded struct {
	hash uint64
	msg  *websocket.PreparedMessage
}

func encode(v any) (encoded, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return encoded{}, fmt.Errorf("encode %T: %w", v, err)
	}
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, data)
	if err != nil {
		return encoded{}, fmt.Errorf("prepare %T: %w", v, err)
	}
	h := fnv.New64a()
	h.Write(data)
	return encoded{hash: h.Sum64(), msg: pm}, nil
}

// agentView is what sessions send about one agent.
type agentView struct {
	id      string
	info    encoded
	picture *encoded // nil when the agent has no picture
}

// viewKey names what a view was built from: a config version, a presence
// version, an hours epoch (see runHours) and a lines epoch (holds of
// agents for waiting visitors, see waitLines).
type viewKey struct{ cfg, avail, hours, lines uint64 }

// view is a widget as visitors see it at one viewKey. Views are immutable
// except for the per-language Session messages, which are built on first
// use.
type view struct {
	key    viewKey
	widget *config.Widget
	// closed and opens are the widget's own hours at build time.
	closed bool
	opens  string
	agents []agentView
	byID   map[string]int

	mu       sync.Mutex
	sessions map[string]encoded // by language
}

// buildView encodes every agent of w with its current availability.
func (s *Server) buildView(w *config.Widget, key viewKey) (*view, error) {
	now := s.opts.Now()
	v := &view{
		key:      key,
		widget:   w,
		agents:   make([]agentView, 0, len(w.Agents)+len(w.Groups)),
		byID:     make(map[string]int, len(w.Agents)+len(w.Groups)),
		sessions: map[string]encoded{},
	}
	if open, next := w.Hours.Open(now); !open {
		v.closed, v.opens = true, wireTime(next)
	}
	states := make(map[string]presence.Availability, len(w.Agents))
	for i := range w.Agents {
		a := &w.Agents[i]
		st := s.agentState(w, a, now)
		if st.presence == presence.Available && s.lines.held(a.URI) {
			st.presence = presence.Busy // the turn of a visitor who waited
		}
		info := infoMsg{
			MT:          mtInfo,
			ID:          a.ID,
			DN:          a.Name,
			Department:  a.Department,
			PhoneNumber: a.Phone,
			Email:       a.Email,
			Company:     w.Contact,
			Presence:    string(st.presence),
			Closed:      st.closed,
			Opens:       wireTime(st.opens),
			Media:       a.Media,
			Order:       i,
			Link:        a.Link,
			Picture:     pictureTag(a.PictureData),
		}
		if info.Media == nil {
			info.Media = []config.Medium{}
		}
		ie, err := encode(info)
		if err != nil {
			return nil, fmt.Errorf("agent %s: %w", a.ID, err)
		}
		av := agentView{id: a.ID, info: ie}
		if len(a.PictureData) > 0 {
			url := "data:" + a.PictureType + ";base64," + base64.StdEncoding.EncodeToString(a.PictureData)
			pe, err := encode(pictureMsg{MT: mtPicture, ID: a.ID, URL: url})
			if err != nil {
				return nil, fmt.Errorf("agent %s picture: %w", a.ID, err)
			}
			av.picture = &pe
		}
		v.byID[a.ID] = len(v.agents)
		v.agents = append(v.agents, av)
		states[a.ID] = st.presence
	}
	for i := range w.Groups {
		g := &w.Groups[i]
		ge, err := encode(groupInfo(w, g, len(w.Agents)+i, states))
		if err != nil {
			return nil, fmt.Errorf("group %s: %w", g.ID, err)
		}
		v.byID[g.ID] = len(v.agents)
		v.agents = append(v.agents, agentView{id: g.ID, info: ge})
	}
	return v, nil
}

// groupInfo describes hunt group g as an agent of its own: available while
// a member is, busy while none is but one is busy; its media are those of
// its members that a group call or chat can use.
func groupInfo(w *config.Widget, g *config.Group, order int, states map[string]presence.Availability) infoMsg {
	p := presence.Offline
	takes := map[config.Medium]bool{}
	for _, id := range g.Members {
		switch states[id] {
		case presence.Available:
			p = presence.Available
		case presence.Busy:
			if p == presence.Offline {
				p = presence.Busy
			}
		}
		if a := agentByID(w, id); a != nil {
			for _, m := range a.Media {
				takes[m] = true
			}
		}
	}
	media := []config.Medium{}
	for _, m := range []config.Medium{config.MediumVoice, config.MediumVideo, config.MediumChat} {
		if takes[m] {
			media = append(media, m)
		}
	}
	return infoMsg{MT: mtInfo, ID: g.ID, DN: g.Name, Department: g.Department, Company: w.Contact,
		Presence: string(p), Media: media, Order: order, Members: g.Members}
}

// queueOf is w's waiting line as the widget shows it, nil without one.
func queueOf(w *config.Widget) *sessionQueue {
	if w.Queue == nil {
		return nil
	}
	return &sessionQueue{MaxWait: int(w.Queue.MaxWait / time.Second)}
}

// wireTime is t as the Widget-API writes times (RFC 3339 in UTC), "" for
// the zero time.
func wireTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// pictureTag is a short content tag, so a widget refetches a picture only
// when it changed.
func pictureTag(data []byte) string {
	if len(data) == 0 {
		return ""
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:6])
}

// session returns the Session message for lang, building it on first use.
func (v *view) session(cat catalog, lang string) (encoded, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if e, ok := v.sessions[lang]; ok {
		return e, nil
	}
	w := v.widget
	teasers := w.Teasers[lang]
	if teasers == nil {
		teasers = w.Teasers[w.Lang]
	}
	e, err := encode(sessionMsg{
		MT:            mtSession,
		ID:            w.ID,
		Type:          w.Type,
		Name:          w.Name,
		Lang:          lang,
		Strings:       cat.strings(w, lang),
		Style:         w.Style,
		Company:       w.Contact,
		AlwaysShow:    w.AlwaysShow,
		EqualPriority: w.EqualPriority,
		CallerName:    w.CallerName,
		Teasers:       teasers,
		ExpectedReply: expectedReply(w, lang),
		LeaveMessage:  w.Fallback != nil,
		Closed:        v.closed,
		Opens:         v.opens,
		Queue:         queueOf(w),
		ContactUs:     contactUsOf(w),
		Form:          w.Form,
		Page:          sessionPage(w.SendPageURL),
		Rating:        w.Rating,
		Transcript:    w.Transcript,
	})
	if err != nil {
		return encoded{}, err
	}
	v.sessions[lang] = e
	return e, nil
}

// expectedReply is w's expected-reply line in lang, else in its default
// language.
func expectedReply(w *config.Widget, lang string) string {
	if r, ok := w.ExpectedReply[lang]; ok {
		return r
	}
	return w.ExpectedReply[w.Lang]
}

// sessionPage is Session.page for a widget's send_page_url.
func sessionPage(p config.PageURL) string {
	if p == config.PageURLPath || p == config.PageURLFull {
		return string(p)
	}
	return ""
}
