// Command go-status measures the plugin's Status as its real caller sees it: from Go, over grpc-go (ctrlplane is a Go
// host), against reading Nomad directly from Go with net/http (as the Go original, ctrlplane's provider/nomad, does).
// bench/go-status.mjs starts the dev agent and the plugin, provisions the instances and runs this program; it can also
// be run by hand against any plugin in standalone mode (--listen) and its Nomad.
//
// Four paths (five with -bare), interleaved in rounds: each round runs every path perRound times on random instances,
// the order rotating from round to round, so that a slow moment of the machine hits all of them alike.
//
// status: ProviderService.Status over grpc-go (insecure h2c, one connection), answered from the plugin's cache.
//
// info: ProviderService.Info over the same connection, an RPC answered from memory: the plugin's gRPC floor.
//
// direct: the minimal uncached reads a client needs for the same answer, GET /v1/job/:id, /v1/job/:id/allocations and
// /v1/job/:id/deployment in parallel (goroutines), net/http with keep-alive (up to 8 idle connections, so the three
// parallel GETs never close one), each body read and decoded. The baseline of the target.
//
// original: what the Go original's Status reads, one GET /v1/job/:id/allocations with its own http.Client on the
// default transport, decoded into the allocation fields it uses (client status, task states with their restarts and
// events) and folded into one state. Without a cache it answers from that single read.
//
// bare: Status against a bare grpc-js server that answers an empty message at once (-bare host:port): what any Node
// plugin on grpc-js pays at least, however it keeps its answers.
//
// stdout: one line per figure ("go-status: ..."), then "result {json}" for the driver. Exits 1 on any failed call.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io/ioutil"
	"math/rand"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"

	pb "nomadprovider/providerv1"
)

// A path is one way of learning an instance's status; call fails the bench on any error.
type path struct {
	name string
	call func(ctx context.Context, instanceID string) error
	lat  []float64 // milliseconds, measured calls only
}

type summary struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	N   int     `json:"n"`
}

// result is what bench/go-status.mjs reads: figures per path and how many HTTP requests this program sent to Nomad
// (so the driver can tell the plugin's own Nomad requests apart in the agent's counters).
type result struct {
	Paths        map[string]summary `json:"paths"`
	NomadGets    int64              `json:"nomadGets"`
	StatusDirect float64            `json:"statusVsDirect"`
	StatusOrig   float64            `json:"statusVsOriginal"`
	StatusInfo   float64            `json:"statusVsInfo"`
	BareDirect   float64            `json:"bareVsDirect,omitempty"`
	Go           string             `json:"go"`
	Grpc         string             `json:"grpc"`
}

func main() {
	pluginAddr := flag.String("plugin", "", "the plugin's gRPC address in standalone mode (host:port, insecure)")
	nomadAddr := flag.String("nomad", "", "Nomad's HTTP address (http://host:port)")
	idList := flag.String("ids", "", "instance IDs, comma-separated")
	jobPrefix := flag.String("job-prefix", "cp-", "Nomad job ID = prefix + instance ID (the plugin's naming)")
	warmRounds := flag.Int("warm-rounds", 30, "rounds not measured first (the plugin's V8 needs ~1,500 calls to optimise)")
	rounds := flag.Int("rounds", 20, "measured rounds")
	perRound := flag.Int("per-round", 50, "calls per path per round")
	bareAddr := flag.String("bare", "", "optional: a bare grpc-js server answering Status with an empty message (host:port)")
	target := flag.Float64("target", 0.5, "target for Status p50 / direct p50")
	flag.Parse()
	ids := strings.Split(*idList, ",")
	if *pluginAddr == "" || *nomadAddr == "" || *idList == "" {
		fail(fmt.Errorf("-plugin, -nomad and -ids are required"))
	}
	nomad := strings.TrimRight(*nomadAddr, "/")

	dialCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	conn, err := grpc.DialContext(dialCtx, *pluginAddr, grpc.WithInsecure(), grpc.WithBlock())
	cancel()
	if err != nil {
		fail(fmt.Errorf("dial plugin %s: %w", *pluginAddr, err))
	}
	defer conn.Close()
	client := pb.NewProviderServiceClient(conn)

	var gets int64
	var getsMu sync.Mutex
	countGet := func() { getsMu.Lock(); gets++; getsMu.Unlock() }

	// Separate clients and pools per path: neither path reuses the other's warm connections.
	directTransport := http.DefaultTransport.(*http.Transport).Clone()
	directTransport.MaxIdleConnsPerHost = 8
	directClient := &http.Client{Transport: directTransport, Timeout: 30 * time.Second}
	originalClient := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: 30 * time.Second}

	getJSON := func(ctx context.Context, hc *http.Client, p string, into interface{}) error {
		countGet()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, nomad+p, nil)
		if err != nil {
			return err
		}
		res, err := hc.Do(req)
		if err != nil {
			return err
		}
		// Read to the end so the connection goes back to the pool.
		body, err := ioutil.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return err
		}
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %d %s", p, res.StatusCode, body)
		}
		return json.Unmarshal(body, into)
	}

	paths := []*path{
		{name: "status", call: func(ctx context.Context, id string) error {
			res, err := client.Status(ctx, &pb.StatusRequest{InstanceId: id})
			if err == nil && res.GetStatus() == nil {
				err = fmt.Errorf("Status %s: no status in the answer", id)
			}
			return err
		}},
		{name: "info", call: func(ctx context.Context, _ string) error {
			_, err := client.Info(ctx, &pb.InfoRequest{})
			return err
		}},
		{name: "direct", call: func(ctx context.Context, id string) error {
			job := "/v1/job/" + *jobPrefix + id
			var j nomadJob
			var allocs []nomadAlloc
			var d *nomadDeployment
			errs := make(chan error, 3)
			go func() { errs <- getJSON(ctx, directClient, job, &j) }()
			go func() { errs <- getJSON(ctx, directClient, job+"/allocations", &allocs) }()
			go func() { errs <- getJSON(ctx, directClient, job+"/deployment", &d) }()
			var first error
			for i := 0; i < 3; i++ {
				if err := <-errs; err != nil && first == nil {
					first = err
				}
			}
			return first
		}},
		{name: "original", call: func(ctx context.Context, id string) error {
			var allocs []nomadAlloc
			if err := getJSON(ctx, originalClient, "/v1/job/"+*jobPrefix+id+"/allocations", &allocs); err != nil {
				return err
			}
			if foldState(allocs) == "" {
				return fmt.Errorf("%s: no state", id)
			}
			return nil
		}},
	}

	if *bareAddr != "" {
		dialCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		bareConn, err := grpc.DialContext(dialCtx, *bareAddr, grpc.WithInsecure(), grpc.WithBlock())
		cancel()
		if err != nil {
			fail(fmt.Errorf("dial bare server %s: %w", *bareAddr, err))
		}
		defer bareConn.Close()
		bare := pb.NewProviderServiceClient(bareConn)
		paths = append(paths, &path{name: "bare", call: func(ctx context.Context, id string) error {
			_, err := bare.Status(ctx, &pb.StatusRequest{InstanceId: id})
			return err
		}})
	}

	rng := rand.New(rand.NewSource(1))
	runRound := func(round int, measure bool) {
		for k := range paths {
			p := paths[(round+k)%len(paths)]
			for i := 0; i < *perRound; i++ {
				id := ids[rng.Intn(len(ids))]
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				start := time.Now()
				err := p.call(ctx, id)
				elapsed := time.Since(start)
				cancel()
				if err != nil {
					fail(fmt.Errorf("%s %s: %w", p.name, id, err))
				}
				if measure {
					p.lat = append(p.lat, float64(elapsed.Nanoseconds())/1e6)
				}
			}
		}
	}
	for r := 0; r < *warmRounds; r++ {
		runRound(r, false)
	}
	for r := 0; r < *rounds; r++ {
		runRound(r, true)
	}

	out := result{Paths: map[string]summary{}, Go: runtime.Version(), Grpc: grpc.Version}
	for _, p := range paths {
		sort.Float64s(p.lat)
		out.Paths[p.name] = summary{P50: percentile(p.lat, 50), P99: percentile(p.lat, 99), N: len(p.lat)}
	}
	getsMu.Lock()
	out.NomadGets = gets
	getsMu.Unlock()
	s, info, direct, orig := out.Paths["status"], out.Paths["info"], out.Paths["direct"], out.Paths["original"]
	out.StatusDirect, out.StatusOrig, out.StatusInfo = s.P50/direct.P50, s.P50/orig.P50, s.P50/info.P50

	verdict := "OK"
	if out.StatusDirect > *target {
		verdict = "OVER TARGET"
	}
	fmt.Printf("go-status: %s, grpc-go %s; %d instances; %d calls per path (interleaved in rounds of %d) after %d warm-up calls each\n",
		out.Go, out.Grpc, len(ids), s.N, *perRound, *warmRounds**perRound)
	fmt.Printf("go-status: Status (grpc-go, from the plugin's cache) p50 %.3f ms / p99 %.3f ms; Info (answered from memory: the gRPC floor) p50 %.3f ms / p99 %.3f ms\n", s.P50, s.P99, info.P50, info.P99)
	fmt.Printf("go-status: direct uncached reads (job+allocations+deployment in parallel, net/http keep-alive) p50 %.3f ms / p99 %.3f ms; the Go original's read (allocations only) p50 %.3f ms / p99 %.3f ms\n", direct.P50, direct.P99, orig.P50, orig.P99)
	fmt.Printf("go-status: Status p50 vs direct uncached reads: ratio %.2f (target <= %.1f) %s\n", out.StatusDirect, *target, verdict)
	fmt.Printf("go-status: Status p50 vs the Go original's read: ratio %.2f; Status p50 vs Info p50 (floor): ratio %.2f\n", out.StatusOrig, out.StatusInfo)
	if bare, ok := out.Paths["bare"]; ok {
		out.BareDirect = bare.P50 / direct.P50
		fmt.Printf("go-status: bare grpc-js Status (empty answer, no logic) p50 %.3f ms / p99 %.3f ms: ratio %.2f vs direct uncached reads (the best any grpc-js plugin gets here); plugin Status vs bare: ratio %.2f\n", bare.P50, bare.P99, out.BareDirect, s.P50/bare.P50)
	}
	line, _ := json.Marshal(out)
	fmt.Printf("result %s\n", line)
}

// The fields of Nomad's answers a status needs; encoding/json skips the rest.
type nomadJob struct {
	ID      string
	Status  string
	Stop    bool
	Version uint64
}

type nomadDeployment struct {
	ID         string
	Status     string
	JobVersion uint64
}

type nomadAlloc struct {
	ID            string
	ClientStatus  string
	DesiredStatus string
	JobVersion    uint64
	TaskStates    map[string]struct {
		State    string
		Failed   bool
		Restarts uint64
		Events   []struct {
			Type           string
			DisplayMessage string
			ExitCode       int
		}
	}
}

// foldState reduces the allocations to one state the way a reader of only this list can: failed beats pending beats
// running; nothing running but something complete is stopped.
func foldState(allocs []nomadAlloc) string {
	if len(allocs) == 0 {
		return "provisioning"
	}
	seen := map[string]bool{}
	for _, a := range allocs {
		seen[a.ClientStatus] = true
	}
	switch {
	case seen["failed"]:
		return "failed"
	case seen["pending"]:
		return "starting"
	case seen["running"]:
		return "running"
	case seen["complete"]:
		return "stopped"
	}
	return "provisioning"
}

func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p / 100 * float64(len(sorted)))
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "go-status: %v\n", err)
	os.Exit(1)
}
