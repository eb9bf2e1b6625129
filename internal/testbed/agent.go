package testbed

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Agent is a running baresip user agent registered as sip:Name@frontdesk.test.
type Agent struct {
	tb              *Testbed
	name, password  string
	sipPort         int
	ctrlPort        int
	initialPresence string
	recordDir       string // sndfile's snd_path; "" when not recording
	proc            *proc
}

// Name is the agent's user name.
func (a *Agent) Name() string { return a.name }

// Password is the agent's SIP password.
func (a *Agent) Password() string { return a.password }

// URI is "sip:name@frontdesk.test".
func (a *Agent) URI() string { return "sip:" + a.name + "@" + Domain }

// SIPAddr is baresip's own SIP address, "HOST:PORT" (127.0.0.1 by default).
func (a *Agent) SIPAddr() string { return net.JoinHostPort(a.tb.host, strconv.Itoa(a.sipPort)) }

// CtrlAddr is baresip's ctrl_tcp address, "HOST:PORT".
func (a *Agent) CtrlAddr() string { return net.JoinHostPort(a.tb.host, strconv.Itoa(a.ctrlPort)) }

// LogPath is the file holding baresip's output (with SIP trace).
func (a *Agent) LogPath() string { return a.proc.logPath }

// RecordDir is the directory the agent's recordings go to ("" when it
// does not record), for a process that cannot ask the Agent.
func (a *Agent) RecordDir() string { return a.recordDir }

// Recording returns the newest WAV file holding the decoded audio the agent
// received in a call (AgentSpec.Record). baresip completes the file's header
// when the call's audio stops, so read it after the call ended.
func (a *Agent) Recording() (string, error) {
	files, err := a.Recordings()
	if err != nil {
		return "", err
	}
	if len(files) == 0 {
		return "", fmt.Errorf("testbed: agent %s has recorded no call yet", a.name)
	}
	return files[len(files)-1], nil
}

// Recordings returns the WAV files of received audio, one per call and
// oldest first (AgentSpec.Record).
func (a *Agent) Recordings() ([]string, error) {
	if a.recordDir == "" {
		return nil, fmt.Errorf("testbed: agent %s does not record (AgentSpec.Record)", a.name)
	}
	entries, err := os.ReadDir(a.recordDir)
	if err != nil {
		return nil, fmt.Errorf("testbed: agent %s recordings: %w", a.name, err)
	}
	type rec struct {
		path string
		mod  time.Time
	}
	var recs []rec
	for _, e := range entries {
		// sndfile names them dump-<time>-dec.wav (received) and -enc.wav (sent).
		if e.IsDir() || !strings.HasSuffix(e.Name(), "-dec.wav") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("testbed: agent %s recordings: %w", a.name, err)
		}
		recs = append(recs, rec{filepath.Join(a.recordDir, e.Name()), info.ModTime()})
	}
	sort.SliceStable(recs, func(i, j int) bool {
		if !recs[i].mod.Equal(recs[j].mod) {
			return recs[i].mod.Before(recs[j].mod)
		}
		return recs[i].path < recs[j].path
	})
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.path
	}
	return out, nil
}

// SetPresence publishes the agent's presence ("online", "busy",
// "on-the-phone", "away", "closed", or "offline" to remove it) and returns once
// Kamailio accepted the PUBLISH. It is sent from Go as the agent's account
// (baresip 1.0.0 cannot publish busy or away).
func (a *Agent) SetPresence(ctx context.Context, status string) error {
	if status == "" {
		status = StatusOnline
	}
	return a.tb.PublishPresence(ctx, a.name, a.password, status)
}

// Dial makes the agent call uri (e.g. "sip:bob@frontdesk.test") through
// Kamailio. It returns once baresip accepted the command, not when the call is
// answered. Use the frontdesk.test domain: dialog state is keyed on user@domain.
func (a *Agent) Dial(ctx context.Context, uri string) error {
	_, err := a.Command(ctx, "dial", uri)
	return err
}

// Hangup ends the agent's current call.
func (a *Agent) Hangup(ctx context.Context) error {
	_, err := a.Command(ctx, "hangup", "")
	return err
}

// Accept answers the agent's ringing call (agents without AnswerCalls).
func (a *Agent) Accept(ctx context.Context) error {
	_, err := a.Command(ctx, "accept", "")
	return err
}

var ctrlToken atomic.Uint64

type ctrlMessage struct {
	Response bool   `json:"response"`
	Event    bool   `json:"event"`
	OK       bool   `json:"ok"`
	Data     string `json:"data"`
	Token    string `json:"token"`
}

// Command sends one command to baresip's ctrl_tcp (netstring-framed JSON) and
// returns its response text. It waits at most 5 s (or ctx).
func (a *Agent) Command(ctx context.Context, command, params string) (string, error) {
	return CtrlCommand(ctx, a.CtrlAddr(), command, params)
}

// CtrlCommand sends one command to a baresip ctrl_tcp listener at addr.
func CtrlCommand(ctx context.Context, addr, command, params string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("baresip ctrl %s: %w", addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()

	token := "tb" + strconv.FormatUint(ctrlToken.Add(1), 10)
	msg, err := json.Marshal(map[string]string{"command": command, "params": params, "token": token})
	if err != nil {
		return "", fmt.Errorf("baresip ctrl: encode: %w", err)
	}
	if _, err := fmt.Fprintf(conn, "%d:%s,", len(msg), msg); err != nil {
		return "", fmt.Errorf("baresip ctrl %s: send %s: %w", addr, command, err)
	}
	r := bufio.NewReader(conn)
	for {
		raw, err := readNetstring(r)
		if err != nil {
			return "", fmt.Errorf("baresip ctrl %s: waiting for %s response: %w", addr, command, err)
		}
		var m ctrlMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return "", fmt.Errorf("baresip ctrl %s: decode %q: %w", addr, raw, err)
		}
		if !m.Response || (m.Token != "" && m.Token != token) {
			continue // an event or someone else's response
		}
		if !m.OK {
			return m.Data, fmt.Errorf("baresip ctrl %s: %s %q failed: %s", addr, command, params, strings.TrimSpace(m.Data))
		}
		return m.Data, nil
	}
}

func readNetstring(r *bufio.Reader) ([]byte, error) {
	head, err := r.ReadString(':')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(head[:len(head)-1]))
	if err != nil || n < 0 || n > 1<<20 {
		return nil, fmt.Errorf("bad netstring length %q", head)
	}
	buf := make([]byte, n+1)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	if buf[n] != ',' {
		return nil, errors.New("netstring without trailing comma")
	}
	return buf[:n], nil
}

// baresipConfig is the config file of one agent: loopback only, no DNS, no
// video, no sound card (ALSA's null device), a 440 Hz tone as microphone (ausine
// needs 48 kHz stereo; baresip resamples for the codec).
func baresipConfig(sipPort, ctrlPort int) string {
	return agentConfig("127.0.0.1", sipPort, ctrlPort, agentMedia{})
}

// agentMedia is what an AgentSpec changes in the media part of the config.
type agentMedia struct {
	toneFile  string // aufile as microphone instead of ausine
	recordDir string // sndfile dumps each call's audio here
	video     bool   // vp8 plus fakevideo as camera and display
	srtp      bool   // the srtp module (the account asks for it)
}

// agentConfig is baresipConfig with an agent's media options applied; the
// zero agentMedia gives exactly baresipConfig's file.
func agentConfig(host string, sipPort, ctrlPort int, m agentMedia) string {
	source := "audio_source		ausine,440\nausrc_srate		48000\nausrc_channels		2\n"
	if m.toneFile != "" {
		// aufile takes the file's own rate and channels.
		source = "audio_source		aufile," + m.toneFile + "\n"
	}
	modules := "module			g711.so\nmodule			alsa.so\nmodule			ausine.so\n"
	if m.toneFile != "" {
		modules += "module			aufile.so\n"
	}
	if m.recordDir != "" {
		modules += "module			sndfile.so\n"
	}
	if m.srtp {
		modules += "module			srtp.so\n"
	}
	var extra string
	if m.recordDir != "" {
		extra += "snd_path		" + m.recordDir + "\n"
	}
	if m.video {
		modules += "module			vp8.so\nmodule			fakevideo.so\n"
		extra += "video_source		fakevideo,nil\nvideo_display		fakevideo,nil\nvideo_size		320x240\nvideo_fps		15\nvideo_bitrate		300000\n"
	}
	return fmt.Sprintf(`poll_method		epoll
sip_listen		%[1]s:%[2]d
net_interface		%[1]s
dns_server		127.0.0.1:53
call_local_timeout	120
call_max_calls		4
audio_player		alsa,null
audio_alert		alsa,null
%[3]smodule_path		/usr/lib/baresip/modules
%[4]smodule_app		account.so
module_app		contact.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		%[1]s:%[5]d
%[6]s`, host, sipPort, source, modules, ctrlPort, extra)
}

func (t *Testbed) startAgent(_ context.Context, spec AgentSpec) (*Agent, error) {
	a := &Agent{tb: t, name: spec.Name, password: spec.Password, sipPort: spec.SIPPort, ctrlPort: spec.CtrlPort, initialPresence: spec.Presence}
	if a.initialPresence == "" {
		a.initialPresence = StatusOnline
	}
	var err error
	if a.sipPort == 0 {
		if a.sipPort, err = freePort(t.host, true); err != nil {
			return nil, err
		}
	}
	if a.ctrlPort == 0 {
		if a.ctrlPort, err = freePort(t.host, false); err != nil {
			return nil, err
		}
	}
	cfgDir := filepath.Join(t.dir, "baresip-"+a.name)
	if err := os.MkdirAll(cfgDir, 0o755); err != nil {
		return nil, fmt.Errorf("testbed: agent %s: %w", a.name, err)
	}
	answer := "manual"
	if spec.AnswerCalls {
		answer = "auto"
	}
	// baresip's account syntax: the password must not contain ';' or '>'.
	if strings.ContainsAny(a.password, ";>\"") {
		return nil, fmt.Errorf("testbed: agent %s: password must not contain ; > or \"", a.name)
	}
	account := fmt.Sprintf("<sip:%s@%s>;auth_user=%s;auth_pass=%s;outbound=\"sip:%s\";regint=300;pubint=0;answermode=%s;audio_codecs=PCMU,PCMA",
		a.name, Domain, a.name, a.password, t.Addr(), answer)
	if spec.SRTP {
		account += ";mediaenc=srtp-mand"
	}
	account += "\n"
	media := agentMedia{video: spec.Video, srtp: spec.SRTP}
	if spec.ToneFile != "" {
		if media.toneFile, err = filepath.Abs(spec.ToneFile); err != nil {
			return nil, fmt.Errorf("testbed: agent %s: tone file: %w", a.name, err)
		}
		if _, err := os.Stat(media.toneFile); err != nil {
			return nil, fmt.Errorf("testbed: agent %s: tone file: %w", a.name, err)
		}
	}
	if spec.Record {
		a.recordDir = filepath.Join(t.dir, "recordings-"+a.name)
		if err := os.MkdirAll(a.recordDir, 0o755); err != nil {
			return nil, fmt.Errorf("testbed: agent %s: %w", a.name, err)
		}
		media.recordDir = a.recordDir
	}
	files := map[string]string{
		"config":   agentConfig(t.host, a.sipPort, a.ctrlPort, media),
		"accounts": account,
		// The gateway as the one contact, so the agent can message it.
		"contacts": fmt.Sprintf("\"Frontdesk\" <sip:frontdesk@%s>\n", Domain),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(cfgDir, name), []byte(content), 0o600); err != nil {
			return nil, fmt.Errorf("testbed: agent %s: write %s: %w", a.name, name, err)
		}
	}
	logPath := filepath.Join(t.dir, "baresip-"+a.name+".log")
	a.proc, err = startProc("baresip "+a.name, logPath, cfgDir, "baresip", "-4", "-s", "-f", cfgDir)
	if err != nil {
		return nil, err
	}
	t.agents = append(t.agents, a)
	t.byName[a.name] = a
	t.log.Debug("baresip started", "agent", a.name, "pid", a.proc.pid(), "sip", a.SIPAddr(), "ctrl", a.CtrlAddr(), "log", logPath)
	return a, nil
}

// waitRegistered polls with OPTIONS to sip:agent@frontdesk.test through
// Kamailio until the agent itself answers 200 (so it is in the location table).
func (t *Testbed) waitRegistered(ctx context.Context, a *Agent, timeout time.Duration) error {
	c := t.sip
	uri := sip.Uri{Scheme: "sip", User: a.name, Host: Domain}
	deadline := time.Now().Add(timeout)
	var last string
	for {
		if a.proc.exited() {
			return a.proc.errWithLog(fmt.Errorf("testbed: baresip %s exited at start-up (%v)", a.name, a.proc.waitErr))
		}
		if t.kam.exited() {
			return t.kam.errWithLog(fmt.Errorf("testbed: kamailio exited (%v)", t.kam.waitErr))
		}
		res, err := c.options(ctx, uri, t.Addr(), 500*time.Millisecond)
		switch {
		case err != nil:
			last = err.Error()
		case res.StatusCode == 200:
			return nil
		default:
			last = fmt.Sprintf("%d %s", res.StatusCode, res.Reason)
		}
		if time.Now().After(deadline) {
			return a.proc.errWithLog(fmt.Errorf("testbed: agent %s not registered within %v (last OPTIONS: %s)", a.name, timeout, last))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testbed: waiting for agent %s: %w", a.name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
