package main

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// ratingsCollector exposes frontdesk_ratings_total{widget,score}: widget
// ids come from the config and scores are 1 to 5, so the series stay few.
type ratingsCollector struct {
	counts func() map[string][5]uint64
	desc   *prometheus.Desc
}

func newRatingsCollector(counts func() map[string][5]uint64) *ratingsCollector {
	return &ratingsCollector{counts: counts, desc: prometheus.NewDesc("frontdesk_ratings_total",
		"Ratings visitors gave a call or chat after it, by widget and score (1 to 5).", []string{"widget", "score"}, nil)}
}

func (c *ratingsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *ratingsCollector) Collect(ch chan<- prometheus.Metric) {
	for widget, n := range c.counts() {
		for i, v := range n {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(v), widget, strconv.Itoa(i+1))
		}
	}
}
