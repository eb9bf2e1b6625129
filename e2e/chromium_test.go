//go:build integration

package e2e

import "github.com/chromedp/chromedp"

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
