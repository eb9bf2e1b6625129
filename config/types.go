package config

import "time"

// Config is one complete, validated gateway configuration. A *Config is never
// modified after Load returns it: a reload builds a new one and swaps it in.
type Config struct {
	// SIP is how the gateway registers to the PBX and places requests.
	SIP SIP `yaml:"sip"`
	// HTTP is the web server that serves the Widget-API and the widget assets.
	HTTP HTTP `yaml:"http"`
	// Admin is the operators' listener: liveness, readiness, health, metrics
	// and the admin view.
	Admin Admin `yaml:"admin"`
	// ICE lists the STUN and TURN servers handed to visitors' browsers.
	ICE ICE `yaml:"ice"`
	// Limits bound what visitors can make the gateway do.
	Limits Limits `yaml:"limits"`
	// Calls configures voice and video calls (media ports, NAT, limits).
	Calls Calls `yaml:"calls"`
	// Chat configures chat over SIP MESSAGE.
	Chat Chat `yaml:"chat"`
	// Widgets are the contact widgets websites embed, each with its agents.
	Widgets []Widget `yaml:"widgets"`
	// Doctor is what `frontdesk doctor` may use beyond the agents: who
	// agreed to a test message and a test call.
	Doctor Doctor `yaml:"doctor"`
	// Cluster, when present, joins this node to a cluster of gateways that
	// share state in NATS JetStream; without it the gateway runs alone.
	Cluster *Cluster `yaml:"cluster"`
	// SMTP is the mail server that sends visitors the transcript of their
	// chat (widgets[].transcript); without it none is offered.
	SMTP *SMTP `yaml:"smtp"`

	// Source is the file the config was read from ("" for the embedded default).
	Source string `yaml:"-"`

	// digest is the SHA-256 of the bytes parsed, so a reload can tell when
	// the file did not change.
	digest [32]byte
}

// SIP configures the gateway's SIP user agent.
type SIP struct {
	// Registrar is the PBX's registrar: host, host:port or a sip:/sips: URI.
	Registrar string `yaml:"registrar"`
	// Domain is the SIP domain of the gateway's and the agents' addresses
	// (default: the registrar's host).
	Domain string `yaml:"domain"`
	// Username is the user part of the gateway's address of record.
	Username string `yaml:"username"`
	// DisplayName is the display name of the gateway's own identity.
	DisplayName string `yaml:"display_name"`
	// AuthUser is the digest authentication user (default: Username).
	AuthUser string `yaml:"auth_user"`
	// Password is an inline digest password; it works but is warned about.
	Password string `yaml:"password"`
	// PasswordEnv names an environment variable holding the password.
	PasswordEnv string `yaml:"password_env"`
	// PasswordFile names a file holding the password (trailing newline ignored).
	PasswordFile string `yaml:"password_file"`
	// OutboundProxy, when set, receives every request (host[:port] or URI).
	OutboundProxy string `yaml:"outbound_proxy"`
	// Transport is udp, tcp or tls (default udp; tls with a sips: registrar).
	Transport string `yaml:"transport"`
	// Listen is the local address the SIP stack binds (default 0.0.0.0:5060;
	// port 0 picks a free port).
	Listen string `yaml:"listen"`
	// PublicAddress is host[:port] put into Contact and Via when the gateway is
	// behind NAT (default: the listen address).
	PublicAddress string `yaml:"public_address"`
	// RegisterExpiry is the registration lifetime asked for.
	RegisterExpiry time.Duration `yaml:"register_expiry"`
	// SubscribeExpiry is the subscription lifetime asked for.
	SubscribeExpiry time.Duration `yaml:"subscribe_expiry"`
	// KeepaliveInterval is how often the gateway checks that the PBX is
	// there and still holds its registration (default 10s, 1s to 10m).
	KeepaliveInterval time.Duration `yaml:"keepalive_interval"`
	// SubscribeRate bounds the SUBSCRIBEs sent to the PBX, however many
	// agents (default 50/s; they are spread evenly, never sent in a burst).
	SubscribeRate Rate `yaml:"subscribe_rate"`
	// SubscribeBackoffMax caps the wait between attempts after a
	// subscription failed (default 1h; doubling from 1s, with jitter).
	SubscribeBackoffMax time.Duration `yaml:"subscribe_backoff_max"`
	// RefusedRetry is the wait before asking again after the PBX refused
	// by policy: 403, 404 or 489 to a SUBSCRIBE, a subscription terminated
	// as rejected or noresource, a REGISTER answered 403 or 404 (default 1h).
	RefusedRetry time.Duration `yaml:"refused_retry"`
	// ResourceList names resource lists (RFC 4662) on the PBX that hold
	// the agents, so that one subscription per event package covers them
	// all (default none: one subscription per agent and package). One
	// value means the same list for both packages.
	ResourceList ResourceList `yaml:"resource_list"`
	// TrustedSources are addresses or CIDRs allowed to send requests to the
	// gateway (default: the registrar's and outbound proxy's resolved addresses).
	TrustedSources []string `yaml:"trusted_sources"`
	// TLSCA is a PEM file of the CA certificates that issue the PBX's TLS
	// certificate (default: the system's roots).
	TLSCA string `yaml:"tls_ca"`
	// TLSCert and TLSKey are the gateway's own certificate and key (PEM):
	// presented when the PBX asks for a client certificate, and served by
	// a TLS listener on listen so the PBX can connect to the gateway.
	// Renewed files are picked up without a restart.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// TLSInsecure skips verification of the PBX's TLS certificate (tests only).
	TLSInsecure bool `yaml:"tls_insecure"`
	// Transfer says whether an agent may pass a visitor's call on from the
	// phone (REFER in the call's dialog) and to which hosts.
	Transfer Transfer `yaml:"transfer"`

	// ResolvedPassword is the password after reading Password, PasswordEnv or
	// PasswordFile. It is never logged.
	ResolvedPassword string `yaml:"-"`
}

// Transfer is the policy for transfers the PBX side asks for (REFER).
type Transfer struct {
	// Allow turns transfers on (default true).
	Allow *bool `yaml:"allow"`
	// Domains are the hosts (host or host:port) a transfer target's URI may
	// name (default: sip.domain, the registrar's and the outbound proxy's
	// hosts). Whatever the target, the new leg goes through the outbound
	// proxy, else the registrar, like every call of the gateway.
	Domains []string `yaml:"domains"`
}

// ResourceList is a resource list URI per event package: a sip: URI,
// user@domain or a user of the SIP domain. In the file a single value
// stands for both.
type ResourceList struct {
	// Presence is the list subscribed to with Event: presence.
	Presence string `yaml:"presence"`
	// Dialog is the list subscribed to with Event: dialog.
	Dialog string `yaml:"dialog"`
}

// HTTP configures the web server.
type HTTP struct {
	// Listen is the address to serve on (default :8080).
	Listen string `yaml:"listen"`
	// TLSCert and TLSKey are PEM files; with both set the server speaks
	// HTTPS. Renewed files are served without a restart.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// TLSMinVersion is the oldest TLS version served: 1.2 (default) or 1.3.
	TLSMinVersion string `yaml:"tls_min_version"`
	// RedirectListen, when set, is a plain HTTP listener (e.g. :80) that
	// redirects every request to public_url, which must be https.
	RedirectListen string `yaml:"redirect_listen"`
	// ACMEWebroot is a directory whose .well-known/acme-challenge/ files
	// redirect_listen serves instead of redirecting (certbot --webroot -w).
	ACMEWebroot string `yaml:"acme_webroot"`
	// PublicURL is the gateway's URL as websites reach it, used in snippets
	// (default: derived from Listen, http://127.0.0.1:port for an unspecified
	// host; left empty when Listen's port is 0).
	PublicURL string `yaml:"public_url"`
	// AllowedOrigins are the page origins allowed to open widget sessions when a
	// widget does not list its own. "*" allows any origin.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// TrustedProxies are the addresses or CIDRs of reverse proxies and load
	// balancers in front of the gateway; only their X-Forwarded-For and
	// Forwarded headers (and PROXY protocol headers) name the client.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// ForwardedHeader is the header trusted proxies name the client in:
	// x-forwarded-for (default) or forwarded (RFC 7239). Only that one is
	// read; set it to the one the proxy maintains.
	ForwardedHeader string `yaml:"forwarded_header"`
	// ProxyProtocol reads a PROXY protocol v1/v2 header on connections from
	// trusted_proxies (L4 load balancers such as HAProxy's send-proxy-v2).
	ProxyProtocol bool `yaml:"proxy_protocol"`
}

// Admin configures the listener for operators and monitoring.
type Admin struct {
	// Listen is where /livez, /readyz, /healthz, /metrics and the admin
	// view (/admin/) are served (default 127.0.0.1:9480; 127.0.0.1:0 when
	// http.listen's port is 0).
	Listen string `yaml:"listen"`
	// TokenEnv names an environment variable holding the admin view's
	// token (at least 16 characters); TokenFile a file holding it.
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`
	// TLSCert and TLSKey are PEM files; with both set the admin listener
	// speaks HTTPS (renewed files are served without a restart).
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// ClientCA is a PEM file of CA certificates: a client certificate they
	// issued opens the admin view (needs tls_cert and tls_key).
	ClientCA string `yaml:"client_ca"`

	// ResolvedToken is the token after reading TokenEnv or TokenFile. It
	// is never logged.
	ResolvedToken string `yaml:"-"`
}

// Protected reports whether the admin view asks for a token or a client
// certificate.
func (a Admin) Protected() bool { return a.ResolvedToken != "" || a.ClientCA != "" }

// Doctor configures `frontdesk doctor`'s opt-in tests.
type Doctor struct {
	// TestAgent is an agent (sip: URI, user@domain or a user of the SIP
	// domain) who agreed to receive a test MESSAGE.
	TestAgent string `yaml:"test_agent"`
	// TestExtension is an extension that agreed to take a test call (an
	// echo service or a phone that answers): early media, answer, codecs,
	// hold, DTMF both ways and BYE are checked.
	TestExtension string `yaml:"test_extension"`

	// TestAgentURI and TestExtensionURI are normalized like Agent.URI.
	TestAgentURI     string `yaml:"-"`
	TestExtensionURI string `yaml:"-"`
}

// ICE lists the servers a browser uses to find a media path.
type ICE struct {
	// STUN servers as stun: URIs.
	STUN []string `yaml:"stun"`
	// TURN servers.
	TURN []TURN `yaml:"turn"`
}

// TURN is one TURN server. With Secret (coturn's use-auth-secret) the gateway
// mints short-lived credentials per session; else Username/Credential are
// handed out as they are.
type TURN struct {
	// URLs are turn: or turns: URIs.
	URLs []string `yaml:"urls"`
	// Secret is the shared secret of coturn's use-auth-secret scheme.
	Secret string `yaml:"secret"`
	// SecretEnv names an environment variable holding Secret.
	SecretEnv string `yaml:"secret_env"`
	// TTL is how long minted credentials stay valid (default 1h).
	TTL time.Duration `yaml:"ttl"`
	// Username and Credential are static credentials (discouraged).
	Username   string `yaml:"username"`
	Credential string `yaml:"credential"`

	// ResolvedSecret is Secret after reading SecretEnv.
	ResolvedSecret string `yaml:"-"`
}

// Limits bound what visitors can make the gateway do.
type Limits struct {
	// MaxSessions is the global number of open widget sessions (default 20000).
	MaxSessions int `yaml:"max_sessions"`
	// MaxSessionsPerIP bounds sessions from one client address (default 50).
	MaxSessionsPerIP int `yaml:"max_sessions_per_ip"`
	// MaxMessageBytes bounds one websocket message from a visitor (default 64 KiB).
	MaxMessageBytes int `yaml:"max_message_bytes"`
	// MaxPictureBytes bounds an agent picture file (default 256 KiB).
	MaxPictureBytes int `yaml:"max_picture_bytes"`
	// StartTimeout is how long a new websocket may take to send Start (default 10s).
	StartTimeout time.Duration `yaml:"start_timeout"`
	// Calls bounds how often calls may be started (each rings a phone).
	Calls ContactRates `yaml:"calls"`
	// Chats bounds how often chats may be opened (each messages an agent).
	Chats ContactRates `yaml:"chats"`
	// MessagesLeft bounds "leave a message" requests (each a MESSAGE and a
	// webhook call); per_agent counts per fallback address.
	MessagesLeft ContactRates `yaml:"messages_left"`
	// MaxWaiting bounds the visitors waiting in line for busy agents on
	// this node, all widgets together (default 1000).
	MaxWaiting int `yaml:"max_waiting"`
	// Transcripts bounds chat transcripts sent by email; per_agent counts
	// per recipient address.
	Transcripts ContactRates `yaml:"transcripts"`
}

// Calls configures the media bridge between browsers and the PBX.
type Calls struct {
	// WebRTCPorts is the UDP port range for media with browsers, "min-max"
	// (default 40000-40999).
	WebRTCPorts string `yaml:"webrtc_ports"`
	// RTPPorts is the UDP port range for RTP with the PBX, "min-max"
	// (default 30000-30999).
	RTPPorts string `yaml:"rtp_ports"`
	// RTPAddress is the local IP address RTP toward the PBX is sent from and
	// announced in SDP unless sip.public_address is set (default: the SIP
	// listen address's host, else the address routed toward the registrar).
	RTPAddress string `yaml:"rtp_address"`
	// PublicIP is announced to browsers as the gateway's media address when
	// it is behind a 1:1 NAT.
	PublicIP string `yaml:"public_ip"`
	// PBXMediaIP is the address SDP toward the PBX names when the PBX
	// reaches the gateway through a NAT: the host of sip.public_address
	// when it is an IP, else public_ip when sip.public_address is set;
	// empty otherwise (SDP names the RTP address). Derived, not a key.
	PBXMediaIP string `yaml:"-"`
	// WebRTCIPs limits the local addresses media with browsers uses (default:
	// every address but loopback). Only loopback addresses (127.0.0.1) make
	// a gateway that serves browsers on the same host only, as in tests.
	WebRTCIPs []string `yaml:"webrtc_ips"`
	// CandidateNetworks lists networks (CIDR or address) whose addresses a
	// browser's ICE candidates may name although they are loopback,
	// private, link-local or otherwise special-use; by default the gateway
	// sends connectivity checks only to public addresses.
	CandidateNetworks []string `yaml:"candidate_networks"`
	// SRTP toward the PBX: off (default) or sdes.
	SRTP string `yaml:"srtp"`
	// WebRTCStack carries voice calls with browsers: pion (default, a
	// PeerConnection per call) or lite (every voice call on one UDP socket
	// per webrtc_ips address, the first port of webrtc_ports, as an ICE-lite
	// agent; much less CPU per packet). Calls with video always use pion.
	WebRTCStack string `yaml:"webrtc_stack"`
	// RTPTimeout ends a call when no media arrived from either side for this
	// long, hold excepted (default 30s).
	RTPTimeout time.Duration `yaml:"rtp_timeout"`
	// RingTimeout ends a call that is not answered in time (default 60s).
	RingTimeout time.Duration `yaml:"ring_timeout"`
	// ReattachGrace is how long a call's SIP leg is kept after the
	// visitor's websocket is lost, for the next page of the site to
	// re-attach to it (default 30s; 0 = off; at most 5m).
	ReattachGrace *time.Duration `yaml:"reattach_grace"`
	// MaxCalls bounds concurrent calls in total (default 100).
	MaxCalls int `yaml:"max_calls"`
	// MaxCallsPerAgent bounds concurrent calls to one agent (default 1).
	MaxCallsPerAgent int `yaml:"max_calls_per_agent"`
}

// Reattach is calls.reattach_grace once validated: 0 when re-attaching is
// off.
func (c Calls) Reattach() time.Duration {
	if c.ReattachGrace == nil {
		return DefaultReattachGrace
	}
	return *c.ReattachGrace
}

// Chat configures chat between visitors and agents.
type Chat struct {
	// MaxMessageLength bounds one chat message, in characters (default 2000).
	MaxMessageLength int `yaml:"max_message_length"`
	// MessagesPerMinute bounds what one visitor sends (default 20).
	MessagesPerMinute int `yaml:"messages_per_minute"`
	// MaxPerAgent bounds concurrent chats with one agent (default 1; with
	// reply_routing "agent" it is always 1).
	MaxPerAgent int `yaml:"max_per_agent"`
	// ResumeGrace keeps a chat after its websocket is lost, for a page reload
	// or a short drop (default 2m).
	ResumeGrace time.Duration `yaml:"resume_grace"`
	// ReplyRouting says how agents' replies find their visitor: "agent"
	// (default: one chatting visitor per agent; replies are matched by the
	// agent's address) or "subaddress" (each chat gets its own From address
	// username+id@domain; the PBX must route those to the gateway).
	ReplyRouting string `yaml:"reply_routing"`
	// SendTimeout bounds one MESSAGE transaction (default 10s).
	SendTimeout time.Duration `yaml:"send_timeout"`
	// Handover is how long, with reply_routing "agent", an agent who just
	// had another chat must have had the new-chat notice before their
	// replies reach the new visitor (default 15s).
	Handover time.Duration `yaml:"handover"`
}

// Cluster configures cluster mode: the engine (NATS with JetStream) and
// this node's name in it.
type Cluster struct {
	// URLs are the NATS servers (nats://host:4222 or tls://host:4222).
	URLs []string `yaml:"urls"`
	// Node is this node's name, unique in the cluster (default: the
	// FRONTDESK_NODE environment variable, else the host name).
	Node string `yaml:"node"`
	// Name prefixes the engine's buckets, streams and subjects, so several
	// clusters can share one NATS (default frontdesk).
	Name string `yaml:"name"`
	// CredentialsFile is a NATS credentials file (JWT and NKey seed).
	CredentialsFile string `yaml:"credentials_file"`
	// User and PasswordEnv authenticate with a user name and a password
	// read from an environment variable.
	User        string `yaml:"user"`
	PasswordEnv string `yaml:"password_env"`
	// TLSCA verifies the NATS servers' certificates (default: system roots).
	TLSCA string `yaml:"tls_ca"`
	// TLSCert and TLSKey are a client certificate for NATS servers that
	// verify clients.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// LeaseTTL is how long a node's hold on an agent's subscriptions (and
	// its heartbeat) lasts without renewal: a node that dies is replaced
	// within it (default 10s, 3s to 5m).
	LeaseTTL time.Duration `yaml:"lease_ttl"`

	// ResolvedPassword is the NATS password after reading PasswordEnv.
	ResolvedPassword string `yaml:"-"`
}

// SMTP is a mail submission server.
type SMTP struct {
	// Host and Port of the server (default port 587).
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	// User and PasswordEnv authenticate (AUTH PLAIN, only over TLS);
	// without a user no AUTH is sent.
	User        string `yaml:"user"`
	PasswordEnv string `yaml:"password_env"`
	// From is the sender, e.g. "Example shop <support@example.com>".
	From string `yaml:"from"`
	// RequireTLS refuses to send unless the server takes STARTTLS and its
	// certificate verifies (default true).
	RequireTLS *bool `yaml:"require_tls"`
	// TLSCA verifies the server's certificate (default: the system roots).
	TLSCA string `yaml:"tls_ca"`

	// ResolvedPassword is the password after reading PasswordEnv.
	ResolvedPassword string `yaml:"-"`
}

// TLSRequired reports whether mail goes out only over STARTTLS.
func (s *SMTP) TLSRequired() bool { return s.RequireTLS == nil || *s.RequireTLS }

// Fallback is where "leave a message" goes when nobody is available.
type Fallback struct {
	// SIP is an address that receives left messages as SIP MESSAGE.
	SIP string `yaml:"sip"`
	// Webhook receives left messages as a signed JSON POST.
	Webhook *Webhook `yaml:"webhook"`

	// URI is SIP normalized like Agent.URI.
	URI string `yaml:"-"`
}

// Webhook is an HTTP endpoint that receives JSON.
type Webhook struct {
	// URL is an http or https URL.
	URL string `yaml:"url"`
	// Secret signs each body (HMAC-SHA256 in the X-Frontdesk-Signature
	// header); SecretEnv names an environment variable holding it.
	Secret    string `yaml:"secret"`
	SecretEnv string `yaml:"secret_env"`
	// Timeout bounds one attempt (default 10s).
	Timeout time.Duration `yaml:"timeout"`
	// Attempts is how often delivery is tried, with backoff (default 5).
	Attempts int `yaml:"attempts"`

	// ResolvedSecret is Secret after reading SecretEnv.
	ResolvedSecret string `yaml:"-"`
}

// WidgetType is the kind of widget.
type WidgetType string

const (
	WidgetUnknown WidgetType = ""
	WidgetSidebar WidgetType = "sidebar"
	WidgetCards   WidgetType = "cards"
)

// Widget is one contact widget.
type Widget struct {
	// ID is the widget's UUID, stable for its lifetime; websites embed it.
	// Either form is accepted; it is kept as 32 lowercase hex digits.
	ID string `yaml:"id"`
	// Type is sidebar or cards.
	Type WidgetType `yaml:"type"`
	// Name is the widget's display name.
	Name string `yaml:"name"`
	// Lang is the default language (two-letter code, default en).
	Lang string `yaml:"lang"`
	// Contact holds the company's contact details shown by the widget.
	Contact Contact `yaml:"contact"`
	// Style sets fonts, colours, margins, z-index and sidebar position.
	Style Style `yaml:"style"`
	// AlwaysShow makes a sidebar show agents that are not available.
	AlwaysShow bool `yaml:"always_show"`
	// AllowedOrigins are the page origins allowed to open this widget
	// (default: http.allowed_origins).
	AllowedOrigins []string `yaml:"allowed_origins"`
	// EqualPriority makes the sidebar's "contact us" button pick a random
	// available agent instead of the first available in order.
	EqualPriority bool `yaml:"equal_priority"`
	// CallerName, when set, is used as the visitor's name instead of asking.
	CallerName string `yaml:"caller_name"`
	// Teasers are texts the collapsed sidebar cycles through, per language.
	Teasers map[string][]string `yaml:"teasers"`
	// ExpectedReply is the line the open panel shows under the team's
	// pictures, per language, e.g. "We usually answer within minutes."
	ExpectedReply map[string]string `yaml:"expected_reply"`
	// Fallback receives "leave a message" requests when nobody is available.
	Fallback *Fallback `yaml:"fallback"`
	// Hours are the widget's opening hours, for every agent without hours
	// of its own (default: always open).
	Hours *Hours `yaml:"hours"`
	// Queue lets visitors wait in line for a busy agent (default: no
	// waiting).
	Queue *Queue `yaml:"queue"`
	// Groups are hunt groups of this widget's agents, offered like agents:
	// a call to a group rings its members one after another (or at random)
	// until one answers.
	Groups []Group `yaml:"groups"`
	// ContactUs is the group the sidebar's "contact us" calls (default:
	// every agent, in order, or at random with equal_priority).
	ContactUs string `yaml:"contact_us"`
	// Form is what the widget asks before a call or chat: the visitor's
	// name, email and topic, each required, optional or off.
	Form Form `yaml:"form"`
	// SendPageURL says what the agent learns of the page the visitor is
	// on: path (default: its address without query and fragment), full
	// (with the query) or off.
	SendPageURL PageURL `yaml:"send_page_url"`
	// AlertInfo, when set, is the Alert-Info header of the widget's calls,
	// so that phones can ring differently for them, e.g.
	// "<urn:alert:service:normal>" or "<http://pbx.example.com/ring2.wav>".
	AlertInfo string `yaml:"alert_info"`
	// Rating asks the visitor after a call or chat to rate it (1 to 5 and
	// a comment); ratings go to fallback.webhook and the metrics.
	Rating bool `yaml:"rating"`
	// Transcript offers the visitor, after a chat, its transcript by email
	// (with their consent; smtp must be set).
	Transcript bool `yaml:"transcript"`
	// Strings override UI strings per language: lang -> key -> text.
	Strings map[string]map[string]string `yaml:"strings"`
	// Agents in display order.
	Agents []Agent `yaml:"agents"`

	// Line is where the widget starts in Source (for messages).
	Line int `yaml:"-"`
}

// Queue is how visitors wait in line for a busy agent: when the agent is
// free, the first in line has the agent held for a while to start the
// call or chat.
type Queue struct {
	// MaxWait is how long a visitor waits before the widget gives up and
	// offers to leave a message (default 10m, 30s to 2h).
	MaxWait time.Duration `yaml:"max_wait"`
	// MaxWaiting bounds the visitors waiting for one agent (default 5).
	MaxWaiting int `yaml:"max_waiting"`
	// ConfirmAfter: a visitor who waited longer is asked to confirm before
	// the call or chat starts, else it starts at once (default 2m; 0s
	// asks always).
	ConfirmAfter *time.Duration `yaml:"confirm_after"`
	// Hold is how long a freed agent is kept for the visitor whose turn it
	// is (default 30s, 10s to 5m); then the next in line gets the turn.
	Hold time.Duration `yaml:"hold"`
}

// Group is a hunt group: a call to it rings one member at a time, moving
// on after no answer, busy or decline, until someone answers.
type Group struct {
	// ID is the group's id in the Widget-API, distinct from the widget's
	// agent ids (letters, digits, '.', '_' and '-').
	ID string `yaml:"id"`
	// Name is shown on the group's card (default: id).
	Name string `yaml:"name"`
	// Department is shown under the name.
	Department string `yaml:"department"`
	// Members are agent ids of this widget, in order (default: every agent).
	Members []string `yaml:"members"`
	// Order is sequential (default: members in order) or random.
	Order string `yaml:"order"`
	// RingTime is how long each member rings before the next is tried
	// (default 20s; at most calls.ring_timeout and calls.rtp_timeout).
	RingTime time.Duration `yaml:"ring_time"`
}

// Group orders.
const (
	OrderSequential = "sequential"
	OrderRandom     = "random"
)

// Form is a widget's pre-contact form. Its answers reach the agent with
// the call or chat and the webhook with a left message.
type Form struct {
	// Name is required (default), optional or off; caller_name skips it.
	Name FormField `yaml:"name" json:"name"`
	// Email is off (default), optional or required.
	Email FormField `yaml:"email" json:"email"`
	// Topic is off (default), optional or required: a line the visitor
	// types, or one of Topics (which makes it optional when not set).
	Topic FormField `yaml:"topic" json:"topic"`
	// Topics are what the topic is chosen from (at most 20, each a line
	// of at most 60 characters); empty: the visitor types it.
	Topics []string `yaml:"topics" json:"topics,omitempty"`
}

// FormField says whether a form asks for something.
type FormField string

const (
	FormFieldUnknown FormField = ""
	FormOff          FormField = "off"
	FormOptional     FormField = "optional"
	FormRequired     FormField = "required"
)

// Asked reports whether the form shows the field.
func (f FormField) Asked() bool { return f == FormOptional || f == FormRequired }

// PageURL says how much of the visitor's page address reaches the agent.
type PageURL string

const (
	PageURLUnknown PageURL = ""
	PageURLPath    PageURL = "path" // scheme, host and path
	PageURLFull    PageURL = "full" // with the query string
	PageURLOff     PageURL = "off"
)

// Contact holds a company's contact details.
type Contact struct {
	Company string `yaml:"company" json:"company,omitempty"`
	Address string `yaml:"address" json:"address,omitempty"`
	Phone   string `yaml:"phone" json:"phone,omitempty"`
	Email   string `yaml:"email" json:"email,omitempty"`
	Web     string `yaml:"web" json:"web,omitempty"`
}

// Style is a widget's look.
type Style struct {
	FontFamily string `yaml:"font_family" json:"fontFamily,omitempty"`
	FontSize   string `yaml:"font_size" json:"fontSize,omitempty"`
	// Colors: CSS colours (#rgb, #rrggbb, rgb(), or a name).
	Foreground   string `yaml:"foreground" json:"foreground,omitempty"`
	Background   string `yaml:"background" json:"background,omitempty"`
	Accent       string `yaml:"accent" json:"accent,omitempty"`
	AccentText   string `yaml:"accent_text" json:"accentText,omitempty"`
	MarginTop    string `yaml:"margin_top" json:"marginTop,omitempty"`
	MarginRight  string `yaml:"margin_right" json:"marginRight,omitempty"`
	MarginBottom string `yaml:"margin_bottom" json:"marginBottom,omitempty"`
	MarginLeft   string `yaml:"margin_left" json:"marginLeft,omitempty"`
	// ZIndex is 0..2147483647 (sidebar default 2147483000).
	ZIndex int `yaml:"z_index" json:"zIndex,omitempty"`
	// Position is the sidebar's page edge: right (default) or left.
	Position string `yaml:"position" json:"position,omitempty"`
}

// Medium is a way to reach an agent.
type Medium string

const (
	MediumUnknown Medium = ""
	MediumVoice   Medium = "voice"
	MediumVideo   Medium = "video"
	MediumChat    Medium = "chat"
	MediumEmail   Medium = "email"
)

// Mode says where an agent's availability comes from.
type Mode string

const (
	ModeUnknown  Mode = ""
	ModePresence Mode = "presence" // the agent's SIP presence and dialog state
	ModeAlways   Mode = "always"   // always available (groups, queues)
	ModeBoolean  Mode = "boolean"  // while a boolean object's presence is open
	ModeInactive Mode = "inactive" // never available
)

// Source says which SIP event packages a presence-mode agent's
// availability comes from.
type Source string

const (
	SourceUnknown Source = ""
	// SourceBoth: presence and dialog state (a PBX that refuses one
	// package gets the other alone).
	SourceBoth Source = "both"
	// SourcePresence: the presence document alone; busy only as far as
	// it says so (RPID activities, notes such as "On the phone").
	SourcePresence Source = "presence"
	// SourceDialog: dialog state alone; available while no call is set up,
	// ringing or connected.
	SourceDialog Source = "dialog"
)

// Agent is one person (or group, or queue) a widget offers.
type Agent struct {
	// ID is the agent's id in the Widget-API, unique within the widget
	// (default: the user part of SIP).
	ID string `yaml:"id"`
	// SIP is the dialable address: a sip: URI, user@domain or a bare user
	// (the SIP domain is appended).
	SIP string `yaml:"sip"`
	// Name is the display name (dn).
	Name string `yaml:"name"`
	// Department is shown under the name.
	Department string `yaml:"department"`
	// Phone is shown as a tel: link.
	Phone string `yaml:"phone"`
	// Email is used for mailto: links.
	Email string `yaml:"email"`
	// Link is an optional custom action.
	Link *Link `yaml:"link"`
	// Picture is a JPEG or PNG file, relative to the config file.
	Picture string `yaml:"picture"`
	// Media the agent takes (default voice, chat; email when Email is set),
	// in the order voice, video, chat, email. Video implies voice.
	Media []Medium `yaml:"media"`
	// Mode is where availability comes from (default presence).
	Mode Mode `yaml:"mode"`
	// Source is which SIP event packages a presence-mode agent's
	// availability comes from: both (default), presence or dialog.
	Source Source `yaml:"source"`
	// Boolean is the boolean object's SIP URI, with mode boolean.
	Boolean string `yaml:"boolean"`
	// Hours are the agent's opening hours, in place of the widget's:
	// outside them the agent is not available, within them its mode
	// decides (default: the widget's hours).
	Hours *Hours `yaml:"hours"`

	// URI is SIP normalized to a full sip: URI without parameters.
	URI string `yaml:"-"`
	// BooleanURI is Boolean normalized likewise.
	BooleanURI string `yaml:"-"`
	// PictureData and PictureType hold the picture's bytes and MIME type.
	PictureData []byte `yaml:"-"`
	PictureType string `yaml:"-"`
	// Line is where the agent starts in Source.
	Line int `yaml:"-"`
}

// Link is a custom action link on an agent's card.
type Link struct {
	URL   string `yaml:"url" json:"url"`
	Title string `yaml:"title" json:"title"`
}
