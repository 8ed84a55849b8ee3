// Package loadgen drives the real HTTP API of a running Dossier with realistic journeys (`dossier bench http`):
// members who read their account, requests, deposits and payments, submit requests and answer information requests;
// caseworkers who list their queues, claim the next case, ask for information and decide. Members and staff are
// created through the real flows (the insured-people import, registration with the emailed activation code, staff
// accounts with their TOTP); the operator commands are the caller's (Setup). The run is bounded in time and in
// requests, aimed only at loopback, and reports per route the rate and p50/p99/max latency beside GET /healthz on the
// same server in the same run.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/time/rate"
)

// Setup is what the generator needs beside HTTP: the operator commands of the server under load.
type Setup struct {
	// ImportInsured loads the insured-people file (`dossier admin import-insured`).
	ImportInsured func(ctx context.Context, csv []byte) error
	// CreateStaff opens a staff account (`dossier admin create-staff`) and returns its id and TOTP secret.
	CreateStaff func(ctx context.Context, login, name, role, password string) (id, totpSecret string, err error)
	// ActivationCode waits for the activation code mailed to email (OutboxCodes on the embedded default).
	ActivationCode func(ctx context.Context, email string) (string, error)
	// ServerCPU, when set, returns the server process's CPU time so far.
	ServerCPU func() (time.Duration, error)
}

// Config bounds and shapes a run.
type Config struct {
	Target      string // http://127.0.0.1:port
	Note        string // said in the report (where the read models live)
	Members     int
	Caseworkers int
	// Duration bounds the mix; MaxRequests (0: none) bounds it in count.
	Duration    time.Duration
	MaxRequests int
	// Rate limits the mix's requests per second over all journeys (0: closed loop, as fast as answers come).
	Rate float64
	// Think is each journey's pause between two steps.
	Think time.Duration
	// Baseline is how long GET /healthz, then GET /v1/me, are measured alone by BaselineClients clients.
	Baseline        time.Duration
	BaselineClients int
	// Submit is the share of a member's steps that submit a request (the rest read), 0 to 1.
	Submit float64
	// Deposit is the share of a member's steps that deposit a document (one small PNG, "Envoyer un document"), 0 to 1.
	Deposit float64
	// Book is the share of a member's steps that book an appointment (or cancel the one booked), 0 to 1; with it the
	// setup opens a supervisor's account that publishes the caseworkers' availability.
	Book float64
	// Relogin is the share of a member's steps that log out and in again (argon2id: costly on purpose), 0 to 1.
	Relogin float64
	// Run tells this run's synthetic people from those of earlier runs on the same server.
	Run    int
	Setup  Setup
	Logger *slog.Logger
	// DuringMix, when set, runs beside the mix (the soak's sampler): its ctx ends with the mix, which waits for it to
	// return; sent reports the requests the mix has sent so far (all, commands only) and the unexpected answers.
	DuringMix func(ctx context.Context, sent func() (requests, commands, unexpected int))
}

// The journeys' service: "Demander la complémentaire santé solidaire", queue sante-c2s.
const (
	service = "complementaire-sante-solidaire"
	queue   = "sante-c2s"
)

var c2sForm = map[string]any{"household_situation": "couple", "household_size": 3, "resources_12_months": 1420000,
	"housing": "tenant", "managing_body": "msa", "sworn_statement": true}

// Run sets up the people, measures the baseline, runs the mix and returns the report. A failure of the setup is an
// error; unexpected answers during the measurements are counted in the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	target, err := CheckLoopback(cfg.Target)
	if err != nil {
		return nil, err
	}
	if cfg.Members < 1 || cfg.Caseworkers < 1 {
		return nil, errors.New("loadgen: at least one member and one caseworker")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.BaselineClients = max(cfg.BaselineClients, 1)
	base := strings.TrimSuffix(target.String(), "/")
	rep := &Report{Target: base, Note: cfg.Note, Members: cfg.Members, Staff: cfg.Caseworkers,
		Machine: Machine{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), GoVersion: runtime.Version(),
			LoadBefore: loadAverage(), Concurrency: cfg.Members + cfg.Caseworkers + 1, RateLimit: cfg.Rate}}

	setupRec := newRecorder()
	start := time.Now()
	members, staff, err := setUp(ctx, cfg, target, base, setupRec)
	if err != nil {
		return nil, err
	}
	rep.SetupSec = time.Since(start).Seconds()
	rep.Setup = setupRec.stats(time.Since(start))

	rep.Baseline = baseline(ctx, cfg, base, members)

	mixRec := newRecorder()
	for _, c := range members {
		c.rec = mixRec
	}
	for _, c := range staff {
		c.rec = mixRec
	}
	cpu0, _ := processCPU()
	var srv0 time.Duration
	if cfg.Setup.ServerCPU != nil {
		srv0, _ = cfg.Setup.ServerCPU()
	}
	elapsed := mix(ctx, cfg, base, members, staff, mixRec)
	if cpu1, err := processCPU(); err == nil {
		rep.LoadCPUSec = (cpu1 - cpu0).Seconds()
	}
	if cfg.Setup.ServerCPU != nil {
		if srv1, err := cfg.Setup.ServerCPU(); err == nil {
			rep.ServerCPUSec = (srv1 - srv0).Seconds()
		}
	}
	rep.MixSec = elapsed.Seconds()
	rep.Mix = mixRec.stats(elapsed)
	rep.Reads = mixRec.sum(elapsed, func(r string) bool { return strings.HasPrefix(r, "GET ") && r != healthzRoute })
	rep.Commands = mixRec.sum(elapsed, func(r string) bool { return !strings.HasPrefix(r, "GET ") })
	rep.LoginsGivenUp, rep.StepsSkipped = mixRec.loginsGivenUp, mixRec.stepsSkipped
	rep.Machine.LoadAfter = loadAverage()

	for _, rec := range []*recorder{setupRec, mixRec} {
		rep.Unexpected += rec.nUnexp
		for k, n := range rec.kinds {
			if rep.ErrorKinds == nil {
				rep.ErrorKinds = map[string]int{}
			}
			rep.ErrorKinds[k] += n
		}
		rep.ErrorSamples = append(rep.ErrorSamples, rec.unexpected...)
	}
	rep.Unexpected += rep.Baseline.Healthz.Errors + rep.Baseline.Me.Errors
	rep.Goals = rep.goals()
	return rep, ctx.Err()
}

const healthzRoute = "GET /healthz"

// setUp imports the insured people, registers and activates the members (codes from the mails) and logs them in,
// opens an administrator's and the caseworkers' accounts, grants the caseworkers the queue and logs them in.
func setUp(ctx context.Context, cfg Config, target interface{ Hostname() string }, base string, rec *recorder) (
	members, staff []*client, err error) {
	log := cfg.Logger
	ps := people(cfg.Members, cfg.Run)
	if err := cfg.Setup.ImportInsured(ctx, insuredCSV(ps)); err != nil {
		return nil, nil, fmt.Errorf("loadgen: import the insured people: %w", err)
	}
	u, _ := CheckLoopback(base)
	log.Info("loadgen: registering members", "members", len(ps))
	members = make([]*client, len(ps))
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	// Enrolments hash passwords (argon2id, CPU and memory bound): more at once than the cores only queues them
	// past the server's request deadline.
	sem := make(chan struct{}, min(8, runtime.NumCPU()))
	for i, p := range ps {
		members[i] = newClient(base, sourceFor(u, 1, i), rec, 30*time.Second)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := enrol(ctx, cfg, members[i], p); err != nil {
				mu.Lock()
				first = cmpErr(first, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, nil, first
	}

	log.Info("loadgen: opening staff accounts", "caseworkers", cfg.Caseworkers)
	admin := newClient(base, sourceFor(u, 2, 0), rec, 30*time.Second)
	if err := staffLogin(ctx, cfg, admin, fmt.Sprintf("banc%d.admin", cfg.Run), "admin"); err != nil {
		return nil, nil, err
	}
	var caseworkerIDs []string
	for i := range cfg.Caseworkers {
		c := newClient(base, sourceFor(u, 2, i+1), rec, 30*time.Second)
		login := fmt.Sprintf("banc%d.agent%d", cfg.Run, i)
		id, err := createStaff(ctx, cfg, login, "caseworker")
		if err != nil {
			return nil, nil, err
		}
		if _, err := admin.call(ctx, "PUT /v1/staff/accounts/{id}/queues", "PUT", "/v1/staff/accounts/"+id.id+"/queues",
			map[string]any{"queues": []string{queue}}, nil); err != nil {
			return nil, nil, fmt.Errorf("loadgen: grant the queue: %w", err)
		}
		if err := loginStaff(ctx, c, login, id.secret); err != nil {
			return nil, nil, err
		}
		staff = append(staff, c)
		caseworkerIDs = append(caseworkerIDs, id.id)
	}
	if cfg.Book > 0 {
		supervisor := newClient(base, sourceFor(u, 2, cfg.Caseworkers+1), rec, 30*time.Second)
		if err := staffLogin(ctx, cfg, supervisor, fmt.Sprintf("banc%d.superviseur", cfg.Run), "supervisor"); err != nil {
			return nil, nil, err
		}
		if err := publishAvailability(ctx, supervisor, caseworkerIDs); err != nil {
			return nil, nil, err
		}
	}
	return members, staff, nil
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// enrol registers a member, activates the account with the mailed code and logs in.
func enrol(ctx context.Context, cfg Config, c *client, p person) error {
	regKey, actKey := uuid.NewString(), uuid.NewString() // kept across retries: a retry is the same command
	reg, err := retry429(ctx, func() (answer, error) {
		return c.call(ctx, "POST /v1/registrations", "POST", "/v1/registrations", map[string]any{"nir": p.nir, "key": p.key,
			"last_name": lastName, "first_name": firstName, "birth_date": birthDate, "email": p.email,
			"terms_accepted": true}, map[string]string{"Idempotency-Key": regKey}, "429", "503 unavailable")
	})
	if err != nil {
		return fmt.Errorf("loadgen: register: %w", err)
	}
	code, err := cfg.Setup.ActivationCode(ctx, p.email)
	if err != nil {
		return err
	}
	if _, err := retry429(ctx, func() (answer, error) {
		return c.call(ctx, "POST /v1/registrations/{id}/activation", "POST",
			"/v1/registrations/"+reg.str("registration_id")+"/activation",
			map[string]string{"code": code, "password": memberPassword}, map[string]string{"Idempotency-Key": actKey}, "429",
			"503 unavailable")
	}); err != nil {
		return fmt.Errorf("loadgen: activate: %w", err)
	}
	s, err := retry429(ctx, func() (answer, error) {
		return c.call(ctx, "POST /v1/sessions", "POST", "/v1/sessions", map[string]string{"nir": p.nir, "password": memberPassword}, nil, "429",
			"503 unavailable")
	})
	if err != nil {
		return fmt.Errorf("loadgen: member login: %w", err)
	}
	c.token, c.nir = s.str("token"), p.nir
	return nil
}

// relogin logs a member out and in again (a throttled login waits as asked). A login that fails leaves the member
// without a session: the journey's next step logs in again (login) rather than calling routes without one.
func relogin(ctx context.Context, c *client) {
	if _, err := c.call(ctx, "DELETE /v1/session", "DELETE", "/v1/session", nil, nil); err != nil {
		return
	}
	c.token = ""
	login(ctx, c)
}

// loginAttempts bounds the tries of a member's login during the mix (each after the wait a 429 or 503 asks), and
// loginSkippedSteps is how many of its steps a member whose login failed sits out before trying again: on a starved
// machine, members retrying without end would turn the mix into logins.
const (
	loginAttempts     = 3
	loginSkippedSteps = 10
)

// login opens a member's session (a throttled login waits as asked, loginAttempts times at most). A login that
// gives up is counted (recorder.loginGaveUp) and leaves the member without a session.
func login(ctx context.Context, c *client) {
	var (
		s   answer
		err error
	)
	for attempt := 1; ; attempt++ {
		s, err = c.call(ctx, "POST /v1/sessions", "POST", "/v1/sessions", map[string]string{"nir": c.nir, "password": memberPassword}, nil, "429", "503 unavailable")
		if err != nil || (s.status != 429 && s.status != 503) {
			break
		}
		if attempt == loginAttempts {
			err = fmt.Errorf("loadgen: login still refused after %d attempts (%d)", attempt, s.status)
			break
		}
		if err = sleep(ctx, retryAfter(s)); err != nil {
			break
		}
	}
	if err == nil && s.status < 300 {
		c.token = s.str("token")
		return
	}
	if ctx.Err() == nil {
		c.rec.loginGaveUp()
	}
}

// retry429 repeats a throttled call after the wait it asks for, and a call the server gave up on (503 unavailable:
// its request deadline passed, as argon2id logins do on an overloaded machine) after a second; the caller lists
// those among the answers it expects.
func retry429(ctx context.Context, call func() (answer, error)) (answer, error) {
	for {
		a, err := call()
		if err != nil || (a.status != 429 && a.status != 503) {
			return a, err
		}
		if err := sleep(ctx, retryAfter(a)); err != nil {
			return a, err
		}
	}
}

type staffAccount struct{ id, secret string }

func createStaff(ctx context.Context, cfg Config, login, role string) (staffAccount, error) {
	id, secret, err := cfg.Setup.CreateStaff(ctx, login, "Agent "+login, role, staffPassword)
	if err != nil {
		return staffAccount{}, fmt.Errorf("loadgen: create-staff: %w", err)
	}
	return staffAccount{id: id, secret: secret}, nil
}

// staffLogin opens an account with role and logs c in.
func staffLogin(ctx context.Context, cfg Config, c *client, login, role string) error {
	acc, err := createStaff(ctx, cfg, login, role)
	if err != nil {
		return err
	}
	return loginStaff(ctx, c, login, acc.secret)
}

// loginStaff logs a staff member in with the password and the current TOTP code.
func loginStaff(ctx context.Context, c *client, login, secret string) error {
	code, err := totp.GenerateCodeCustom(secret, time.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix,
		Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return fmt.Errorf("loadgen: TOTP code: %w", err)
	}
	s, err := retry429(ctx, func() (answer, error) {
		return c.call(ctx, "POST /v1/staff/sessions", "POST", "/v1/staff/sessions",
			map[string]string{"login": login, "password": staffPassword, "totp": code}, nil, "429", "503 unavailable")
	})
	if err != nil {
		return fmt.Errorf("loadgen: staff login: %w", err)
	}
	c.token = s.str("token")
	return nil
}

// baseline measures GET /healthz, then GET /v1/me, each alone for cfg.Baseline by cfg.BaselineClients clients.
func baseline(ctx context.Context, cfg Config, base string, members []*client) Baseline {
	b := Baseline{Clients: cfg.BaselineClients}
	measure := func(route, path string, token func(i int) string) RouteStats {
		rec := newRecorder()
		cctx, cancel := context.WithTimeout(ctx, cfg.Baseline)
		defer cancel()
		start := time.Now()
		var wg sync.WaitGroup
		for i := range cfg.BaselineClients {
			c := newClient(base, nil, rec, 30*time.Second)
			c.token = token(i)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for cctx.Err() == nil { // the last request finishes (see mix)
					_, _ = c.call(ctx, route, "GET", path, nil, nil)
				}
			}()
		}
		wg.Wait()
		st := rec.stats(time.Since(start))
		if len(st) == 0 {
			return RouteStats{Route: route}
		}
		return st[0]
	}
	cfg.Logger.Info("loadgen: baseline", "seconds", cfg.Baseline.Seconds())
	b.Healthz = measure(healthzRoute, "/healthz", func(int) string { return "" })
	b.Me = measure("GET /v1/me", "/v1/me", func(i int) string { return members[i%len(members)].token })
	if b.Healthz.Rate > 0 {
		b.Ratio = b.Me.Rate / b.Healthz.Rate
	}
	return b
}

// mix runs every member's and caseworker's journey, and a /healthz probe, until cfg.Duration has passed or
// cfg.MaxRequests were sent; it returns the time it ran.
func mix(ctx context.Context, cfg Config, base string, members, staff []*client, rec *recorder) time.Duration {
	cctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var limiter *rate.Limiter
	if cfg.Rate > 0 {
		limiter = rate.NewLimiter(rate.Limit(cfg.Rate), max(1, int(cfg.Rate/10)))
	}
	var sent atomic.Int64
	// step admits one more request: false once the run is over.
	step := func() bool {
		if cfg.MaxRequests > 0 && sent.Add(1) > int64(cfg.MaxRequests) {
			cancel()
			return false
		}
		if limiter != nil && limiter.Wait(cctx) != nil {
			return false
		}
		if cfg.Think > 0 && sleep(cctx, cfg.Think) != nil {
			return false
		}
		return cctx.Err() == nil
	}
	cfg.Logger.Info("loadgen: mix", "seconds", cfg.Duration.Seconds(), "members", len(members), "caseworkers", len(staff))
	start := time.Now()
	var wg sync.WaitGroup
	// Requests run under ctx, not cctx: the end of the mix admits no new request and lets those in flight finish
	// (cut, they would be client disconnects, which the server logs).
	for i, m := range members {
		wg.Add(1)
		go func() { defer wg.Done(); memberJourney(ctx, cfg, m, int64(i), step) }()
	}
	for i, s := range staff {
		wg.Add(1)
		go func() { defer wg.Done(); caseworkerJourney(ctx, s, int64(i), step) }()
	}
	if cfg.DuringMix != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg.DuringMix(cctx, func() (int, int, int) {
				return rec.count(func(string) bool { return true }), rec.count(func(r string) bool { return !strings.HasPrefix(r, "GET ") }),
					rec.unexpectedSoFar()
			})
		}()
	}
	probe := newClient(base, nil, rec, 30*time.Second)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for sleep(cctx, 20*time.Millisecond) == nil {
			_, _ = probe.call(ctx, healthzRoute, "GET", "/healthz", nil, nil)
		}
	}()
	wg.Wait()
	return time.Since(start)
}

// loadAverage is /proc/loadavg's three figures ("" elsewhere).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
