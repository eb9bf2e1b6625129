//go:build integration

package e2e

import (
	"context"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// chromiumOptions are the flags every test browser runs with (see
// shared notes: as root, headless, no background traffic), a fresh profile in
// profileDir, fake media devices without prompts, and loopback candidates so
// that media with the gateway stays on 127.0.0.1. extra come last.
func chromiumOptions(profileDir string, extra ...chromedp.ExecAllocatorOption) []chromedp.ExecAllocatorOption {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(profileDir),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("no-proxy-server", true),
		// Tabs opened later render (animations run) as the first one does.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		// Calls: a fake microphone and camera, no permission prompt.
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		// Loopback candidates: media with the gateway stays on 127.0.0.1.
		chromedp.Flag("allow-loopback-in-peer-connection", true),
	}
	return append(opts, extra...)
}

// chromeTab is a tab in Chromium (chromedp): the tabDriver of a Chromium
// browserTab.
type chromeTab struct{ ctx context.Context }

func (c chromeTab) engine() string { return "chromium" }

func (c chromeTab) run(d time.Duration, actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(c.ctx, d)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

func (c chromeTab) evaluate(expr string, d time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(c.ctx, d)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
}

func (c chromeTab) navigate(url string) error {
	return c.run(20*time.Second, chromedp.Navigate(url))
}
func (c chromeTab) reload() error            { return c.run(30*time.Second, chromedp.Reload()) }
func (c chromeTab) preload(src string) error { return c.run(10*time.Second, addInitScript(src)) }
func (c chromeTab) clickAt(x, y float64) error {
	return c.run(10*time.Second, chromedp.MouseClickXY(x, y))
}
func (c chromeTab) press(key string, opts ...chromedp.KeyOption) error {
	return c.run(5*time.Second, chromedp.KeyEvent(key, opts...))
}
func (c chromeTab) typeText(s string) error { return c.run(10*time.Second, chromedp.KeyEvent(s)) }
func (c chromeTab) front() error {
	return c.run(10*time.Second, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.BringToFront, cdp.Empty{})
		return err
	}))
}

// setViewport emulates a desktop or phone screen; reduced motion makes
// panels appear at once.
func (c chromeTab) setViewport(w, h int64, mobile bool) error {
	acts := []chromedp.Action[chromedp.Void]{
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
			})
			return err
		}),
	}
	if mobile {
		acts = append(acts, chromedp.EmulateViewport(w, h, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(2)))
	} else {
		acts = append(acts, chromedp.EmulateViewport(w, h, chromedp.EmulateScale(1)))
	}
	return c.run(10*time.Second, acts...)
}

func (c chromeTab) screenshot() ([]byte, error) {
	ctx, cancel := context.WithTimeout(c.ctx, 20*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.CaptureScreenshot())
}
