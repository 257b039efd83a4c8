package peer

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-dev/switchboard/eureka"
	"github.com/switchboard-dev/switchboard/internal/redact"
	"github.com/switchboard-dev/switchboard/registry"
)

// taskKey identifies a task for de-duplication: Eureka's "action#APP/id".
type taskKey struct {
	action eureka.ReplicationAction
	app    string
	id     string
}

type task struct {
	item     eureka.ReplicationInstance
	queued   time.Time // when the first task with this key was queued
	expires  time.Time // zero: never
	attempts int
}

// node replicates to one peer.
type node struct {
	url     string // service URL without a trailing slash, e.g. http://h:8762/eureka
	display string // url without credentials
	authz   string // Authorization header from Config, or "" for the URL's credentials
	cfg     Config
	client  *http.Client
	reg     *registry.Registry
	log     *slog.Logger
	m       *metrics

	wake chan struct{} // signalled when tasks arrive

	mu        sync.Mutex // guards the fields below
	pending   map[taskKey]task
	order     []taskKey // FIFO of keys; keys no longer pending are skipped
	available bool
	lastErr   string
}

func newNode(serviceURL string, cfg Config, client *http.Client, reg *registry.Registry, log *slog.Logger, m *metrics) *node {
	u := strings.TrimSuffix(serviceURL, "/")
	var authz string
	switch {
	case cfg.Token != "":
		authz = "Bearer " + cfg.Token
	case cfg.Username != "" || cfg.Password != "":
		authz = "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.Username+":"+cfg.Password))
	}
	return &node{
		url:     u,
		display: redact.URL(u),
		authz:   authz,
		cfg:     cfg,
		client:  client,
		reg:     reg,
		log:     log.With("peer", redact.URL(u)),
		m:       m,
		wake:    make(chan struct{}, 1),
		pending: make(map[taskKey]task),
	}
}

// authorize sets the configured credentials on a request to the peer.
// Without them net/http sends the URL's, if any.
func (n *node) authorize(req *http.Request) {
	if n.authz != "" {
		req.Header.Set("Authorization", n.authz)
	}
}

// enqueue adds a task, replacing a pending one with the same key. When the
// queue is full the oldest task is dropped and counted.
func (n *node) enqueue(item eureka.ReplicationInstance, now time.Time) {
	k := taskKey{item.Action, item.AppName, item.ID}
	t := task{item: item, queued: now}
	if item.Action == eureka.ActionHeartbeat {
		t.expires = now.Add(n.cfg.HeartbeatExpiry)
	}
	n.mu.Lock()
	if old, ok := n.pending[k]; ok {
		t.queued = old.queued
		n.pending[k] = t
		n.mu.Unlock()
		return
	}
	for len(n.pending) >= n.cfg.QueueCapacity && len(n.order) > 0 {
		oldest := n.order[0]
		n.order = n.order[1:]
		if _, ok := n.pending[oldest]; ok {
			delete(n.pending, oldest)
			n.m.dropped.WithLabelValues(n.display, "queue_full").Inc()
		}
	}
	n.pending[k] = t
	n.order = append(n.order, k)
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// requeue puts back tasks whose batch failed, ahead of newer tasks, unless a
// newer task with the same key arrived meanwhile.
func (n *node) requeue(tasks []task) {
	n.mu.Lock()
	defer n.mu.Unlock()
	keys := make([]taskKey, 0, len(tasks)+len(n.order))
	for _, t := range tasks {
		k := taskKey{t.item.Action, t.item.AppName, t.item.ID}
		if _, ok := n.pending[k]; ok {
			continue
		}
		t.attempts++
		n.pending[k] = t
		keys = append(keys, k)
	}
	n.order = append(keys, n.order...)
}

// take waits until a batch is due and removes it from the queue: when
// BatchSize tasks wait, or the oldest has waited MaxBatchDelay.
func (n *node) take(ctx context.Context) ([]task, error) {
	for {
		n.mu.Lock()
		n.compact()
		var due time.Duration
		if len(n.order) > 0 {
			oldest := n.pending[n.order[0]].queued
			due = n.cfg.MaxBatchDelay - time.Since(oldest)
			if len(n.pending) >= n.cfg.BatchSize || due <= 0 {
				batch := n.popLocked()
				n.mu.Unlock()
				if len(batch) > 0 {
					return batch, nil
				}
				continue
			}
		}
		n.mu.Unlock()
		var timer *time.Timer
		var fire <-chan time.Time
		if due > 0 {
			timer = time.NewTimer(due)
			fire = timer.C
		}
		select {
		case <-ctx.Done():
		case <-n.wake:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}

// compact drops keys at the head of order that are no longer pending.
func (n *node) compact() {
	i := 0
	for i < len(n.order) {
		if _, ok := n.pending[n.order[i]]; ok {
			break
		}
		i++
	}
	n.order = n.order[i:]
}

func (n *node) popLocked() []task {
	now := time.Now()
	batch := make([]task, 0, min(n.cfg.BatchSize, len(n.pending)))
	for len(n.order) > 0 && len(batch) < n.cfg.BatchSize {
		k := n.order[0]
		n.order = n.order[1:]
		t, ok := n.pending[k]
		if !ok {
			continue
		}
		delete(n.pending, k)
		if !t.expires.IsZero() && now.After(t.expires) {
			n.m.dropped.WithLabelValues(n.display, "expired").Inc()
			continue
		}
		batch = append(batch, t)
	}
	return batch
}

func (n *node) queueLen() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.pending)
}

func (n *node) state() registry.PeerState {
	n.mu.Lock()
	defer n.mu.Unlock()
	return registry.PeerState{URL: n.display, Available: n.available, Pending: len(n.pending), LastError: n.lastErr}
}

func (n *node) setState(ok bool, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.available = ok
	n.lastErr = ""
	if err != nil {
		n.lastErr = err.Error()
	}
}

// errCongestion is a 503 or a timeout: the peer is alive but overloaded.
var errCongestion = errors.New("peer congested")

// run sends batches until ctx is done.
func (n *node) run(ctx context.Context) error {
	backoff := n.cfg.RetryMin
	for {
		batch, err := n.take(ctx)
		if err != nil {
			return nil
		}
		start := time.Now()
		resp, err := n.send(ctx, batch)
		n.m.batchSeconds.WithLabelValues(n.display).Observe(time.Since(start).Seconds())
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			n.setState(false, err)
			if errors.Is(err, errPermanent) {
				n.log.Error("peer refused a replication batch; dropping it", "tasks", len(batch), "err", err)
				n.m.dropped.WithLabelValues(n.display, "refused").Add(float64(len(batch)))
				continue
			}
			n.requeue(batch)
			pause := jitter(backoff)
			if errors.Is(err, errCongestion) {
				pause = max(pause, time.Second)
			}
			n.log.Warn("replication batch failed; will retry", "tasks", len(batch), "retry_in", pause, "err", err)
			if !sleep(ctx, pause) {
				return nil
			}
			backoff = min(backoff*2, n.cfg.RetryMax)
			continue
		}
		backoff = n.cfg.RetryMin
		n.setState(true, nil)
		now := time.Now()
		for i, t := range batch {
			n.m.lag.WithLabelValues(n.display).Observe(now.Sub(t.queued).Seconds())
			if i < len(resp.Items) {
				n.handleItem(t, resp.Items[i])
			}
		}
	}
}

func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

var errPermanent = errors.New("permanent failure")

// send posts one batch and decodes the per-item answers.
func (n *node) send(ctx context.Context, batch []task) (*eureka.ReplicationResponseList, error) {
	list := eureka.ReplicationList{Items: make([]eureka.ReplicationInstance, len(batch))}
	for i, t := range batch {
		list.Items[i] = t.item
	}
	body := eureka.AppendReplicationListJSON(make([]byte, 0, 256*len(batch)), &list)
	ctx, cancel := context.WithTimeout(ctx, n.cfg.ReadTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url+"/peerreplication/batch/", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errPermanent, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("DiscoveryIdentity-Name", "DefaultServer")
	req.Header.Set("DiscoveryIdentity-Version", "1.0")
	req.Header.Set("User-Agent", "Switchboard-Replication")
	n.authorize(req)
	resp, err := n.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusServiceUnavailable:
		return nil, fmt.Errorf("%w: status 503", errCongestion)
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden:
		// Retried: a restarting peer or one not yet given our credentials.
		return nil, fmt.Errorf("peer answered %s", resp.Status)
	case resp.StatusCode/100 != 2:
		return nil, fmt.Errorf("%w: peer answered %s: %.200s", errPermanent, resp.Status, data)
	}
	out, err := eureka.DecodeReplicationResponseListJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%w: batch answer: %v", errPermanent, err)
	}
	if len(out.Items) != len(batch) {
		n.log.Warn("peer answered a batch with the wrong number of items", "sent", len(batch), "answers", len(out.Items))
		return &eureka.ReplicationResponseList{}, nil
	}
	return out, nil
}

// handleItem follows Eureka's reactions to per-item answers.
func (n *node) handleItem(t task, resp eureka.ReplicationResponse) {
	it := t.item
	switch {
	case resp.StatusCode/100 == 2:
	case it.Action == eureka.ActionHeartbeat && resp.StatusCode == http.StatusNotFound:
		// The peer does not know the instance: register it there.
		if cur := n.reg.Current(strings.ToUpper(it.AppName), it.ID); cur != nil {
			n.enqueue(eureka.ReplicationInstance{
				Action: eureka.ActionRegister, AppName: cur.App, ID: it.ID,
				LastDirtyTimestamp: cur.LastDirtyTimestamp, Status: cur.Status, InstanceInfo: cur,
			}, time.Now())
		}
	case it.Action == eureka.ActionHeartbeat && resp.StatusCode == http.StatusConflict && resp.ResponseEntity != nil:
		// The peer holds a newer copy: adopt it, as a replication.
		if err := n.reg.Register(strings.ToUpper(it.AppName), resp.ResponseEntity, true); err != nil {
			n.log.Warn("adopting a peer's newer copy failed", "app", it.AppName, "id", it.ID, "err", err)
		}
	case it.Action == eureka.ActionCancel && resp.StatusCode == http.StatusNotFound:
		// Already gone there.
	default:
		n.log.Warn("peer refused a replicated write", "action", it.Action, "app", it.AppName, "id", it.ID, "status", resp.StatusCode)
	}
}
