package widget

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
)

//go:embed assets
var assetsFS embed.FS

// cssPlaceholder in frontdesk.js is replaced by the stylesheet as a JSON
// string, so the widget is one request and needs no inline <style> or
// stylesheet origin on the host page.
const cssPlaceholder = `"__FRONTDESK_CSS__"`

// partsPlaceholder in frontdesk.js is replaced by scriptParts, in order, so
// the widget is served as one script with one scope and needs no build
// step. Each part is one concern, named for it: helpers (events, DOM,
// texts, times, links, sounds), the visitor's storage, the connection
// (websocket, backoff, send queue), the team (agents, availability, who
// "contact us" reaches), loading parts on demand, and the views: agent
// cards, launcher, home, panel, the name form, the ways on after a
// failure, chat, leave-a-message and what follows a contact (rating,
// transcript). The Widget in frontdesk.js holds them.
// eslint.config.mjs lints the joined script; jstest holds unit tests of
// the parts that run under Node.
const partsPlaceholder = `/*__FRONTDESK_PARTS__*/`

var scriptParts = []string{
	"assets/helpers.js", "assets/storage.js", "assets/connection.js", "assets/team.js", "assets/loader.js",
	"assets/cards.js", "assets/launcher.js", "assets/home.js", "assets/panel.js", "assets/name.js",
	"assets/offers.js", "assets/chat.js", "assets/leave.js", "assets/after.js",
}

// Parts the widget loads on demand are scripts of their own: the call
// part (WebRTC and the call view, assets/call.js) on the first call (or
// when the visitor points at a call button), the wait part (waiting in
// line, assets/wait.js) when the visitor first waits: most visitors never
// do either. Each placeholder in frontdesk.js is replaced by the part's
// path with its version, so that a widget script always loads the parts
// it was served with.
type onDemandPart struct {
	file, path, placeholder string
}

var (
	callPart = onDemandPart{"assets/call.js", "/frontdesk-call.js", `"__FRONTDESK_CALL_PART__"`}
	waitPart = onDemandPart{"assets/wait.js", "/frontdesk-wait.js", `"__FRONTDESK_WAIT_PART__"`}

	onDemandParts = []onDemandPart{callPart, waitPart}
)

// asset is a file served with a strong ETag and a pre-compressed variant.
type asset struct {
	body, gz    []byte
	contentType string
	etag        string
}

func newAsset(body []byte, contentType string) (*asset, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if _, err := zw.Write(body); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return &asset{body: body, gz: buf.Bytes(), contentType: contentType,
		etag: `"` + contentVersion(body) + `"`}, nil
}

func (a *asset) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("Vary", "Accept-Encoding")
	h.Set("X-Content-Type-Options", "nosniff")
	// Pages on any site load the widget script.
	h.Set("Access-Control-Allow-Origin", "*")
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// script returns the part as served.
func (p onDemandPart) script() ([]byte, error) {
	js, err := assetsFS.ReadFile(p.file)
	if err != nil {
		return nil, fmt.Errorf("read widget part %s: %w", p.file, err)
	}
	return stripLineComments(js), nil
}

// callScript and waitScript return the call and wait parts as served.
func callScript() ([]byte, error) { return callPart.script() }
func waitScript() ([]byte, error) { return waitPart.script() }

// contentVersion names an asset's content, for its ETag and for the URL
// the widget loads a part by.
func contentVersion(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:8])
}

// widgetScript returns frontdesk.js with its parts joined, the stylesheet
// inlined and the on-demand parts' versioned paths.
func widgetScript() ([]byte, error) {
	js, err := assetsFS.ReadFile("assets/frontdesk.js")
	if err != nil {
		return nil, fmt.Errorf("read widget script: %w", err)
	}
	css, err := assetsFS.ReadFile("assets/frontdesk.css")
	if err != nil {
		return nil, fmt.Errorf("read widget stylesheet: %w", err)
	}
	quoted, err := json.Marshal(string(css))
	if err != nil {
		return nil, fmt.Errorf("quote widget stylesheet: %w", err)
	}
	placeholders := []string{cssPlaceholder, partsPlaceholder}
	paths := map[string][]byte{}
	for _, p := range onDemandParts {
		part, err := p.script()
		if err != nil {
			return nil, err
		}
		if paths[p.placeholder], err = json.Marshal(p.path + "?v=" + contentVersion(part)); err != nil {
			return nil, fmt.Errorf("quote widget part path %s: %w", p.path, err)
		}
		placeholders = append(placeholders, p.placeholder)
	}
	for _, p := range placeholders {
		if !bytes.Contains(js, []byte(p)) {
			return nil, fmt.Errorf("widget script lacks the %s placeholder", p)
		}
	}
	var parts []byte
	for _, name := range scriptParts {
		part, err := assetsFS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read widget script part: %w", err)
		}
		parts = append(parts, part...)
	}
	js = bytes.Replace(js, []byte(partsPlaceholder), parts, 1)
	js = stripLineComments(js)
	for placeholder, path := range paths {
		js = bytes.Replace(js, []byte(placeholder), path, 1)
	}
	return bytes.Replace(js, []byte(cssPlaceholder), quoted, 1), nil
}

// stripLineComments drops the lines of js that hold only a // comment, and
// leading indentation: the comments are for readers of the source, not
// worth a visitor's download. The script has no template literals, so such
// a line is never inside a string (the served script is checked by Node
// and ESLint, widget/script_lint_test.go).
func stripLineComments(js []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(js))
	for _, line := range bytes.SplitAfter(js, []byte("\n")) {
		trimmed := bytes.TrimLeft(line, " \t")
		if bytes.HasPrefix(trimmed, []byte("//")) {
			continue
		}
		out.Write(trimmed)
	}
	return out.Bytes()
}

var (
	previewTmpl = template.Must(template.ParseFS(assetsFS, "assets/preview.html"))
	popoutTmpl  = template.Must(template.ParseFS(assetsFS, "assets/popout.html"))
)

// registerAssets adds the widget script and the preview pages to mux.
func (s *Server) registerAssets(mux *http.ServeMux) {
	js, err := widgetScript()
	if err != nil {
		s.log.Error("widget assets unavailable", "err", err)
		return
	}
	script, err := newAsset(js, "text/javascript; charset=utf-8")
	if err != nil {
		s.log.Error("widget assets unavailable", "err", err)
		return
	}
	mux.Handle("GET /frontdesk.js", script)
	for _, p := range onDemandParts {
		if part, err := p.script(); err != nil {
			s.log.Error("widget part unavailable", "part", p.path, "err", err)
		} else if asset, err := newAsset(part, "text/javascript; charset=utf-8"); err != nil {
			s.log.Error("widget part unavailable", "part", p.path, "err", err)
		} else {
			mux.Handle("GET "+p.path, asset)
		}
	}
	mux.HandleFunc("GET /preview/{id}", s.servePreview)
	mux.HandleFunc("GET /call/{id}", s.servePopout)
	mux.HandleFunc("GET /{$}", s.serveIndex)
}

// servePreview serves the concept's [Download] page: a small HTML file that
// shows the widget and its snippet. ?download=1 makes it an attachment.
func (s *Server) servePreview(w http.ResponseWriter, r *http.Request) {
	cfg := s.state.Load().cfg
	wc := cfg.Widget(r.PathValue("id"))
	if wc == nil {
		http.NotFound(w, r)
		return
	}
	var buf bytes.Buffer
	err := previewTmpl.Execute(&buf, previewData{
		Widget:  wc,
		Gateway: s.publicURL(),
		Snippet: Snippet(wc, s.publicURL()),
		Cards:   wc.Type == config.WidgetCards,
	})
	if err != nil {
		s.log.Error("render preview", "widget", wc.ID, "err", err)
		http.Error(w, "cannot render preview", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	if r.URL.Query().Get("download") != "" {
		h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=\"frontdesk-%s.html\"", wc.ID))
	}
	_, _ = w.Write(buf.Bytes())
}

// servePopout serves the small window a call moves to, so that navigating
// the site does not drop it. It runs on the gateway's own origin under a
// strict policy.
func (s *Server) servePopout(w http.ResponseWriter, r *http.Request) {
	cfg := s.state.Load().cfg
	wc := cfg.Widget(r.PathValue("id"))
	if wc == nil {
		http.NotFound(w, r)
		return
	}
	agent := ""
	for _, a := range wc.Agents {
		if a.ID == r.URL.Query().Get("agent") {
			agent = a.ID
		}
	}
	gateway := s.publicURL()
	var buf bytes.Buffer
	if err := popoutTmpl.Execute(&buf, popoutData{Widget: wc, Gateway: gateway, Agent: agent}); err != nil {
		s.log.Error("render call window", "widget", wc.ID, "err", err)
		http.Error(w, "cannot render the call window", http.StatusInternalServerError)
		return
	}
	ws := strings.Replace(strings.Replace(originOf(gateway), "https://", "wss://", 1), "http://", "ws://", 1)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Permissions-Policy", "microphone=(self), camera=(self), display-capture=(self)")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; connect-src "+ws+
		"; img-src data:; media-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	_, _ = w.Write(buf.Bytes())
}

type popoutData struct {
	Widget  *config.Widget
	Gateway string
	Agent   string // an agent id of the widget, or ""
}

type previewData struct {
	Widget *config.Widget
	// Gateway is the public URL, so a downloaded copy of the page still
	// reaches the gateway.
	Gateway string
	Snippet string
	Cards   bool
}

// serveIndex says what this server is, without listing widgets: widget ids
// are for the pages that embed them.
func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "Frontdesk gateway. Preview a widget at /preview/<widget id>; embed it with the snippet `frontdesk snippet <id>` prints.")
}
