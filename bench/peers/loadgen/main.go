// loadgen drives one HTTP workload against one system and prints what it measured as JSON.
//
// It reads a spec (JSON) on standard input. Two modes:
//
//   - "seq": `count` executions one at a time (after `warmup` unmeasured ones);
//   - "rate": an open loop at `rate` starts per second for `duration_s` seconds, each start on its
//     own goroutine, so a slow system does not slow the arrival rate (Kestra's benchmark uses
//     vegeta the same way).
//
// Latency is measured from just before the start request is written to the moment the driver
// knows the execution is terminal: the start request's own response when the system answers
// once the execution has ended (Kestra's webhook with `wait: true`, Peregrine's `?wait=true`,
// Restate's ingress call), or else the first poll of `poll_url` that shows a terminal state.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type Spec struct {
	Mode      string            `json:"mode"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Body      string            `json:"body"`
	Count     int               `json:"count"`
	Warmup    int               `json:"warmup"`
	Rate      float64           `json:"rate"`
	DurationS float64           `json:"duration_s"`
	TimeoutS  float64           `json:"timeout_s"`
	// JSON path (dotted) of the state in the start response or the poll response; empty: any 2xx
	// response is the terminal answer.
	StatePath string `json:"state_path"`
	// terminal states counted as success; other terminal states are failures
	OkStates []string `json:"ok_states"`
	// terminal states that are failures
	FailStates []string `json:"fail_states"`
	// when the start answer is not terminal: poll this URL ({id} replaced by the id at IDPath)
	PollURL        string  `json:"poll_url"`
	IDPath         string  `json:"id_path"`
	PollIntervalMs float64 `json:"poll_interval_ms"`
	MaxInFlight    int64   `json:"max_inflight"`
}

type Result struct {
	Mode         string    `json:"mode"`
	Sent         int       `json:"sent"`
	Ok           int       `json:"ok"`
	Failed       int       `json:"failed"`
	Errors       int       `json:"errors"`
	Dropped      int       `json:"dropped"`
	ErrorSamples []string  `json:"error_samples"`
	LatenciesMs  []float64 `json:"latencies_ms"`
	// start offsets (s, from the first start) and end offsets of the successful executions, for
	// the completion rate
	StartS      []float64 `json:"start_s,omitempty"`
	EndS        []float64 `json:"end_s,omitempty"`
	WallS       float64   `json:"wall_s"`
	OfferedRate float64   `json:"offered_rate,omitempty"`
	Polled      int64     `json:"polled"`
	Waited      int64     `json:"answered_terminal"`
}

var (
	client *http.Client
	spec   Spec
	polled atomic.Int64
	waited atomic.Int64
)

func jsonPath(v any, path string) any {
	if path == "" {
		return v
	}
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// outcome: 0 ok, 1 failed (terminal but not a success), 2 error (transport, status, timeout)
func one() (int, string) {
	deadline := time.Now().Add(time.Duration(spec.TimeoutS * float64(time.Second)))
	req, err := http.NewRequest(spec.Method, spec.URL, strings.NewReader(spec.Body))
	if err != nil {
		return 2, err.Error()
	}
	for k, v := range spec.Headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 2, err.Error()
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 2, err.Error()
	}
	if resp.StatusCode/100 != 2 {
		return 2, fmt.Sprintf("HTTP %d: %.200s", resp.StatusCode, body)
	}
	if spec.StatePath == "" {
		waited.Add(1)
		return 0, ""
	}
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return 2, fmt.Sprintf("bad JSON: %.200s", body)
	}
	state, _ := jsonPath(doc, spec.StatePath).(string)
	if contains(spec.OkStates, state) {
		waited.Add(1)
		return 0, ""
	}
	if contains(spec.FailStates, state) {
		waited.Add(1)
		return 1, "terminal state " + state
	}
	if spec.PollURL == "" {
		return 2, fmt.Sprintf("start answered state %q and no poll URL", state)
	}
	id, _ := jsonPath(doc, spec.IDPath).(string)
	if id == "" {
		return 2, fmt.Sprintf("no id in: %.200s", body)
	}
	url := strings.ReplaceAll(spec.PollURL, "{id}", id)
	interval := time.Duration(spec.PollIntervalMs * float64(time.Millisecond))
	for time.Now().Before(deadline) {
		time.Sleep(interval)
		polled.Add(1)
		r, err := client.Get(url)
		if err != nil {
			return 2, err.Error()
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode == 404 {
			continue
		}
		if r.StatusCode/100 != 2 {
			return 2, fmt.Sprintf("poll HTTP %d: %.200s", r.StatusCode, b)
		}
		var d any
		if json.Unmarshal(b, &d) != nil {
			continue
		}
		s, _ := jsonPath(d, spec.StatePath).(string)
		if contains(spec.OkStates, s) {
			return 0, ""
		}
		if contains(spec.FailStates, s) {
			return 1, "terminal state " + s
		}
	}
	return 2, "timeout"
}

func main() {
	if err := json.NewDecoder(os.Stdin).Decode(&spec); err != nil {
		fmt.Fprintln(os.Stderr, "bad spec:", err)
		os.Exit(2)
	}
	if spec.Method == "" {
		spec.Method = "POST"
	}
	if spec.TimeoutS == 0 {
		spec.TimeoutS = 120
	}
	if spec.PollIntervalMs == 0 {
		spec.PollIntervalMs = 5
	}
	if spec.MaxInFlight == 0 {
		spec.MaxInFlight = 20000
	}
	client = &http.Client{
		Timeout: time.Duration(spec.TimeoutS * float64(time.Second)),
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        0,
			MaxIdleConnsPerHost: 20000,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
	res := Result{Mode: spec.Mode, ErrorSamples: []string{}, LatenciesMs: []float64{}}
	var mu sync.Mutex
	record := func(start time.Time, t0 time.Time, outcome int, msg string) {
		end := time.Now()
		mu.Lock()
		defer mu.Unlock()
		switch outcome {
		case 0:
			res.Ok++
			res.LatenciesMs = append(res.LatenciesMs, float64(end.Sub(start).Nanoseconds())/1e6)
			if spec.Mode == "rate" {
				res.StartS = append(res.StartS, start.Sub(t0).Seconds())
				res.EndS = append(res.EndS, end.Sub(t0).Seconds())
			}
		case 1:
			res.Failed++
		default:
			res.Errors++
		}
		if msg != "" && len(res.ErrorSamples) < 5 && !contains(res.ErrorSamples, msg) {
			res.ErrorSamples = append(res.ErrorSamples, msg)
		}
	}

	switch spec.Mode {
	case "seq":
		for i := 0; i < spec.Warmup; i++ {
			one()
		}
		t0 := time.Now()
		for i := 0; i < spec.Count; i++ {
			start := time.Now()
			o, msg := one()
			record(start, t0, o, msg)
			res.Sent++
		}
		res.WallS = time.Since(t0).Seconds()
	case "rate":
		n := int(spec.Rate * spec.DurationS)
		interval := time.Duration(float64(time.Second) / spec.Rate)
		var wg sync.WaitGroup
		var inflight atomic.Int64
		t0 := time.Now()
		for i := 0; i < n; i++ {
			due := t0.Add(time.Duration(i) * interval)
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
			if inflight.Load() >= spec.MaxInFlight {
				mu.Lock()
				res.Dropped++
				mu.Unlock()
				continue
			}
			res.Sent++
			inflight.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer inflight.Add(-1)
				start := time.Now()
				o, msg := one()
				record(start, t0, o, msg)
			}()
		}
		sendWall := time.Since(t0).Seconds()
		wg.Wait()
		res.WallS = time.Since(t0).Seconds()
		res.OfferedRate = float64(res.Sent) / sendWall
	default:
		fmt.Fprintln(os.Stderr, "mode must be seq or rate")
		os.Exit(2)
	}
	res.Polled = polled.Load()
	res.Waited = waited.Load()
	sort.Float64s(res.LatenciesMs)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	if err := enc.Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Stdout.Write(buf.Bytes())
}
