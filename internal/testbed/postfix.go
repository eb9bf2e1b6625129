package testbed

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Postfix is a Postfix instance of a test (Debian's package, its own
// config directory, queue and mailbox under the test's directory) that
// listens on 127.0.0.1 only, takes mail only after STARTTLS with the given
// certificate, and delivers every message for Domain to one mbox file.
type Postfix struct {
	dir  string
	port int
	p    *proc
	// Domain is the recipient domain it delivers (mail for any other is
	// refused: it relays nothing).
	Domain string
}

// postfixMaster is the few services an instance needs; the system's
// master.cf is not used.
const postfixMaster = `%s inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
tlsmgr unix - - n 1000? 1 tlsmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
virtual unix - n n - - virtual
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
`

// StartPostfix writes the instance's config into dir (which the postfix
// user must be able to reach) and runs it in the foreground until Stop.
func StartPostfix(ctx context.Context, dir, certFile, keyFile, domain string) (*Postfix, error) {
	bin, err := exec.LookPath("postfix")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/postfix"); err != nil {
			return nil, fmt.Errorf("testbed: postfix not installed (run testbed/install.sh): %w", err)
		}
	}
	pu, err := user.Lookup("postfix")
	if err != nil {
		return nil, fmt.Errorf("testbed: no postfix user: %w", err)
	}
	port, err := freePort("127.0.0.1", false)
	if err != nil {
		return nil, err
	}
	pf := &Postfix{dir: dir, port: port, Domain: domain}
	for _, d := range []string{"queue", "data", "mail"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("testbed: postfix dir: %w", err)
		}
	}
	uid, _ := strconv.Atoi(pu.Uid)
	gid, _ := strconv.Atoi(pu.Gid)
	for _, d := range []string{"mail", "data"} {
		if err := os.Chown(filepath.Join(dir, d), uid, gid); err != nil {
			return nil, fmt.Errorf("testbed: postfix %s dir: %w", d, err)
		}
	}
	main := fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %[1]s/queue
data_directory = %[1]s/data
maillog_file = %[1]s/maillog
maillog_file_prefixes = %[1]s
mail_owner = postfix
myhostname = mta.frontdesk.test
mydomain = frontdesk.test
myorigin = $myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
relayhost =
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
smtputf8_enable = yes
smtpd_relay_restrictions = reject_unauth_destination
smtpd_tls_cert_file = %[2]s
smtpd_tls_key_file = %[3]s
smtpd_tls_security_level = encrypt
smtpd_tls_auth_only = yes
virtual_mailbox_domains = %[4]s
virtual_mailbox_base = %[1]s/mail
virtual_mailbox_maps = static:inbox
virtual_uid_maps = static:%[5]d
virtual_gid_maps = static:%[6]d
virtual_minimum_uid = 1
message_size_limit = 1048576
`, dir, certFile, keyFile, domain, uid, gid)
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(main), 0o644); err != nil {
		return nil, fmt.Errorf("testbed: postfix main.cf: %w", err)
	}
	master := fmt.Sprintf(postfixMaster, "127.0.0.1:"+strconv.Itoa(port))
	if err := os.WriteFile(filepath.Join(dir, "master.cf"), []byte(master), 0o644); err != nil {
		return nil, fmt.Errorf("testbed: postfix master.cf: %w", err)
	}
	// check creates the queue's directories with their owners.
	if out, err := exec.CommandContext(ctx, bin, "-c", dir, "check").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("testbed: postfix check: %w: %s%s", err, out, logTail(filepath.Join(dir, "maillog"), 20))
	}
	p, err := startProc("postfix", filepath.Join(dir, "postfix.log"), dir, bin, "-c", dir, "start-fg")
	if err != nil {
		return nil, err
	}
	pf.p = p
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", pf.Addr(), time.Second)
		if err == nil {
			c.Close()
			return pf, nil
		}
		if p.exited() || time.Now().After(deadline) || ctx.Err() != nil {
			_ = p.stop(time.Second)
			return nil, p.errWithLog(fmt.Errorf("testbed: postfix not accepting on %d: %w; maillog:\n%s", port, err, logTail(filepath.Join(dir, "maillog"), 20)))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Addr is where it takes mail (SMTP with STARTTLS).
func (pf *Postfix) Addr() string { return "127.0.0.1:" + strconv.Itoa(pf.port) }

// Mailbox is what was delivered so far, one mbox file.
func (pf *Postfix) Mailbox() (string, error) {
	data, err := os.ReadFile(filepath.Join(pf.dir, "mail", "inbox"))
	if os.IsNotExist(err) {
		return "", nil
	}
	return string(data), err
}

// Log is the tail of its mail log.
func (pf *Postfix) Log(lines int) string { return logTail(filepath.Join(pf.dir, "maillog"), lines) }

// Messages counts the messages delivered (mbox "From " lines).
func (pf *Postfix) Messages() int {
	box, _ := pf.Mailbox()
	return strings.Count("\n"+box, "\nFrom ")
}

// Stop ends the instance (SIGTERM to its master, then SIGKILL to its
// process group) and waits for it.
func (pf *Postfix) Stop() error {
	if pf.p == nil {
		return nil
	}
	err := pf.p.stop(10 * time.Second)
	pf.p = nil
	// The master daemon leaves the start-fg wrapper's process group
	// (setsid): end it by the PID it wrote, which this instance started.
	if errs := stopByPIDFile(filepath.Join(pf.dir, "queue", "pid", "master.pid"), 10*time.Second); errs != nil {
		err = errors.Join(err, errs)
	}
	return err
}

// stopByPIDFile sends SIGTERM to the process whose PID the file holds,
// then SIGKILL if it has not ended within wait. A missing file or process
// is no error.
func stopByPIDFile(path string, wait time.Duration) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		return fmt.Errorf("testbed: %s: no PID in %q", path, data)
	}
	if syscall.Kill(pid, syscall.SIGTERM) != nil {
		return nil // already gone
	}
	deadline := time.Now().Add(wait)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			return fmt.Errorf("testbed: postfix master %d did not end within %v", pid, wait)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}
