package admin

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
)

//go:embed assets
var assetsFS embed.FS

// csp is the policy of every admin response: the page's own scripts,
// styles and connections, nothing inline, no frames, forms only to itself.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

const (
	// streamLife bounds one trace stream; the page's EventSource opens
	// another.
	streamLife = 30 * time.Minute
	// streamPing is how often an idle stream sends a comment, so proxies
	// and the page see it alive.
	streamPing = 15 * time.Second
	// writeTimeout bounds each write to a stream: a page that stopped
	// reading is dropped.
	writeTimeout = 10 * time.Second
)

// Options configure a Server.
type Options struct {
	Sources Sources
	Trace   TraceSource
	// Admin is the admin section of the config the gateway started with
	// (the token, whether client certificates are verified).
	Admin config.Admin
	// ListenAddr is the admin listener's bound address: an unprotected
	// view is served only on a loopback address.
	ListenAddr string
	Log        *slog.Logger
	Now        func() time.Time // default time.Now
}

// Server serves the admin view.
type Server struct {
	src   Sources
	gate  *gate
	trace *traceHub
	log   *slog.Logger
	now   func() time.Time
	login *template.Template
	page  []byte
}

var loginTmpl = template.Must(template.ParseFS(assetsFS, "assets/login.html"))

// New builds a Server; nothing runs until its routes are served.
func New(o Options) (*Server, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	page, err := assetsFS.ReadFile("assets/index.html")
	if err != nil {
		return nil, fmt.Errorf("admin page: %w", err)
	}
	host, _, err := net.SplitHostPort(o.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("admin listen address %q: %w", o.ListenAddr, err)
	}
	ip := net.ParseIP(host)
	loopback := ip != nil && ip.IsLoopback()
	secure := o.Admin.TLSCert != ""
	return &Server{
		src:   o.Sources,
		gate:  newGate(o.Admin.ResolvedToken, o.Admin.ClientCA != "" && secure, loopback, secure, o.Now),
		trace: newTraceHub(o.Trace),
		log:   o.Log,
		now:   o.Now,
		login: loginTmpl,
		page:  page,
	}, nil
}

// Register adds the admin view's routes to mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/admin/", http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET /admin/{$}", s.servePage)
	mux.HandleFunc("GET /admin/login", s.serveLogin)
	mux.HandleFunc("POST /admin/login", s.postLogin)
	mux.HandleFunc("POST /admin/logout", s.postLogout)
	mux.HandleFunc("GET /admin/admin.js", s.asset("assets/admin.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /admin/admin.css", s.asset("assets/admin.css", "text/css; charset=utf-8"))
	mux.HandleFunc("GET /admin/api/state", s.api(s.serveState))
	mux.HandleFunc("GET /admin/api/trace", s.api(s.serveTrace))
}

// Close ends every trace stream; http.Server.Shutdown does not wait for
// them otherwise (RegisterOnShutdown).
func (s *Server) Close() { s.trace.close() }

// Watching is the number of trace streams open.
func (s *Server) Watching() int { return s.trace.watching() }

// headers are the security headers of every admin response.
func headers(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// notServed answers when no protection is configured and the listener is
// not on loopback.
func notServed(w http.ResponseWriter) {
	headers(w)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprintln(w, "The admin view is not served on this address: set admin.token_env, admin.token_file or admin.client_ca, or keep admin.listen on loopback.")
}

func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	if !s.gate.served() {
		notServed(w)
		return
	}
	if _, ok := s.gate.admit(r); !ok {
		if s.gate.token == "" {
			headers(w)
			http.Error(w, "A client certificate issued by admin.client_ca is needed for the admin view.", http.StatusForbidden)
			return
		}
		headers(w)
		http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
		return
	}
	headers(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(s.page)
}

// loginPage is what the login template shows.
type loginPage struct {
	Error string
	Token bool // a token is configured (else the form is of no use)
}

func (s *Server) renderLogin(w http.ResponseWriter, code int, p loginPage) {
	headers(w)
	var buf bytes.Buffer
	if err := s.login.Execute(&buf, p); err != nil {
		s.log.Error("admin login page", "err", err)
		http.Error(w, "login page unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) serveLogin(w http.ResponseWriter, r *http.Request) {
	if !s.gate.served() {
		notServed(w)
		return
	}
	if _, ok := s.gate.admit(r); ok {
		headers(w)
		http.Redirect(w, r, "/admin/", http.StatusSeeOther)
		return
	}
	s.renderLogin(w, http.StatusOK, loginPage{Token: s.gate.token != ""})
}

func (s *Server) postLogin(w http.ResponseWriter, r *http.Request) {
	switch {
	case s.gate.token == "":
		notServed(w)
		return
	case !sameOrigin(r):
		headers(w)
		http.Error(w, "cross-site login refused", http.StatusForbidden)
		return
	case !s.gate.allowAttempt(r):
		s.log.Warn("admin login attempts limited", "client", peerIP(r))
		s.renderLogin(w, http.StatusTooManyRequests, loginPage{Token: true, Error: "Too many attempts: wait a minute and try again."})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginBody)
	if err := r.ParseForm(); err != nil || !s.gate.tokenMatches(r.PostForm.Get("token")) {
		s.log.Warn("admin login refused", "client", peerIP(r))
		s.renderLogin(w, http.StatusUnauthorized, loginPage{Token: true, Error: "That token is not right."})
		return
	}
	s.log.Info("admin login", "client", peerIP(r))
	headers(w)
	http.SetCookie(w, s.gate.cookie(s.gate.newSession(), int(sessionLife/time.Second)))
	http.Redirect(w, r, "/admin/", http.StatusSeeOther)
}

func (s *Server) postLogout(w http.ResponseWriter, r *http.Request) {
	headers(w)
	if !sameOrigin(r) {
		http.Error(w, "cross-site logout refused", http.StatusForbidden)
		return
	}
	http.SetCookie(w, s.gate.cookie("", -1))
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}

// asset serves an embedded file to anyone: the script and the stylesheet
// hold no data.
func (s *Server) asset(name, contentType string) http.HandlerFunc {
	body, err := assetsFS.ReadFile(name)
	if err != nil {
		panic(fmt.Sprintf("admin asset %s: %v", name, err)) // embedded at build time
	}
	return func(w http.ResponseWriter, r *http.Request) {
		headers(w)
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	}
}

// api admits a request to the JSON and trace endpoints, or answers 401
// (JSON) for the page to send the browser to the login page.
func (s *Server) api(next func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.gate.served() {
			notServed(w)
			return
		}
		via, ok := s.gate.admit(r)
		if !ok {
			headers(w)
			if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") && !s.gate.allowAttempt(r) {
				writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "too many attempts"})
				return
			}
			if s.gate.token != "" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="frontdesk admin"`)
			}
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "log in at /admin/login or send Authorization: Bearer TOKEN"})
			return
		}
		headers(w)
		next(w, r, via)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func (s *Server) serveState(w http.ResponseWriter, _ *http.Request, via string) {
	access := s.gate.access()
	access.Via = via
	writeJSON(w, http.StatusOK, s.src.state(s.now(), access))
}
