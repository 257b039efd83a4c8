package discovery

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"

	"github.com/switchboard-dev/switchboard/eureka"
)

// errNotRegistered is a heartbeat's 404: the registry wants a registration.
var errNotRegistered = errors.New("registry does not know the instance")

// leaseLoop registers the instance after the initial jitter, then renews its
// lease every LeaseRenewalInterval until ctx is done. A heartbeat answered
// 404 (the registry lost or evicted us, or holds an older copy) is followed
// at once by a registration with a fresh lastDirtyTimestamp, so an evicted
// instance returns within one renewal interval. Failures back off
// exponentially up to LeaseRenewalInterval×HeartbeatBackoffBound. It reports
// whether a registration was attempted, so Run knows whether to cancel.
func (c *Client) leaseLoop(ctx context.Context) (attempted bool) {
	if j := c.cfg.InitialRegistrationJitter; j > 0 && !sleep(ctx, rand.N(j)) {
		return false
	}
	interval := c.cfg.Instance.LeaseRenewalInterval
	registered := false
	failures := 0
	for ctx.Err() == nil {
		var err error
		if registered {
			err = c.renew(ctx)
			if errors.Is(err, errNotRegistered) {
				c.log.Info("heartbeat answered 404; registering again", "app", c.cfg.Instance.App)
				c.update(func(*eureka.Instance) {})
				err = c.register(ctx)
				registered = err == nil
			}
		} else {
			attempted = true
			err = c.register(ctx)
			registered = err == nil
		}
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			failures++
			c.log.Warn("registration or heartbeat failed; backing off", "err", err, "failures", failures)
		} else {
			failures = 0
		}
		if !sleep(ctx, backoff(interval, failures, c.cfg.HeartbeatBackoffBound)) {
			break
		}
	}
	return attempted
}

// register POSTs the instance, in the Java client's JSON, to
// /apps/{APP}; only 204 is success, as for every Eureka client.
func (c *Client) register(ctx context.Context) error {
	in := c.inst.Load()
	res, err := c.do(ctx, &call{
		op:     "register " + in.App + "/" + in.InstanceID,
		method: http.MethodPost,
		path:   "/apps/" + url.PathEscape(in.App),
		body:   eureka.AppendInstanceDocJSON(make([]byte, 0, 1500), in),
		accept: acceptLease,
	})
	if err != nil {
		return err
	}
	if res.code != http.StatusNoContent {
		return fmt.Errorf("register %s/%s: %s answered %d, want 204", in.App, in.InstanceID, res.server.base, res.code)
	}
	c.stats.registrations.Add(1)
	c.log.Info("registered", "app", in.App, "id", in.InstanceID, "status", in.Status, "registry", res.server.base)
	return nil
}

// renew sends one heartbeat: PUT /apps/{APP}/{ID}?status=&lastDirtyTimestamp=.
func (c *Client) renew(ctx context.Context) error {
	in := c.inst.Load()
	res, err := c.do(ctx, &call{
		op:     "renew " + in.App + "/" + in.InstanceID,
		method: http.MethodPut,
		path: "/apps/" + url.PathEscape(in.App) + "/" + url.PathEscape(in.InstanceID) +
			"?status=" + string(in.Status) + "&lastDirtyTimestamp=" + strconv.FormatInt(in.LastDirtyTimestamp, 10),
		accept: acceptLease,
	})
	switch {
	case err != nil:
		return err
	case res.code == http.StatusNotFound:
		c.stats.renewNotFound.Add(1)
		return fmt.Errorf("renew %s/%s: %w", in.App, in.InstanceID, errNotRegistered)
	case res.code != http.StatusOK:
		return fmt.Errorf("renew %s/%s: %s answered %d, want 200", in.App, in.InstanceID, res.server.base, res.code)
	}
	c.stats.renewals.Add(1)
	return nil
}

// cancel DELETEs the registration. Any answer will do, as in the Java
// client: a registry that no longer knows us answers 404.
func (c *Client) cancel(ctx context.Context) error {
	in := c.inst.Load()
	res, err := c.do(ctx, &call{
		op:     "cancel " + in.App + "/" + in.InstanceID,
		method: http.MethodDelete,
		path:   "/apps/" + url.PathEscape(in.App) + "/" + url.PathEscape(in.InstanceID),
		accept: acceptAny,
	})
	if err != nil {
		c.log.Warn("cancel", "err", err)
		return err
	}
	c.log.Info("cancelled", "app", in.App, "id", in.InstanceID, "registry", res.server.base, "code", res.code)
	return nil
}
