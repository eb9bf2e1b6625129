// Package epollset tells which files are in this process's epoll sets, for
// tests that check a socket left Go's netpoller (Linux, /proc).
package epollset
