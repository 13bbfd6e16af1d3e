// affinity-oracle answers, with Kubernetes' own code, which nodes a PersistentVolume's node
// affinity admits and which nodes a node selector admits. It is a test tool for
// gpufleet.cluster.pv_affinity_info (tests/module/test_pv_affinity_differential.py), never
// part of the collection.
//
// Input on stdin (JSON):
//
//	{"nodes": [v1.Node...], "pvs": [v1.PersistentVolume...],
//	 "selectors": [{"name": "...", "selector": v1.NodeSelector}...]}
//
// Output on stdout (JSON), node names in input order:
//
//	{"pvs": {"<pv name>": [...]}, "selectors": {"<name>": [...]}}
//
// A PV admits a node as the scheduler's volume binding checks it
// (pkg/scheduler/framework/plugins/volumebinding/binder.go calls
// volume.CheckNodeAffinity(pv, node.Labels): labels only, no node name). A selector admits a
// node as the NodeAffinity plugin checks a pod's required node affinity
// (nodeaffinity.GetRequiredNodeAffinity(pod).Match(node), with the whole node, name included).
package main

import (
	"encoding/json"
	"fmt"
	"os"

	v1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/component-helpers/storage/volume"
)

type namedSelector struct {
	Name     string           `json:"name"`
	Selector *v1.NodeSelector `json:"selector"`
}

type input struct {
	Nodes     []v1.Node             `json:"nodes"`
	PVs       []v1.PersistentVolume `json:"pvs"`
	Selectors []namedSelector       `json:"selectors"`
}

type output struct {
	PVs       map[string][]string `json:"pvs"`
	Selectors map[string][]string `json:"selectors"`
}

func run() error {
	var in input
	dec := json.NewDecoder(os.Stdin)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return fmt.Errorf("reading the input: %w", err)
	}
	out := output{PVs: map[string][]string{}, Selectors: map[string][]string{}}
	for i := range in.PVs {
		pv := &in.PVs[i]
		admitted := []string{}
		for j := range in.Nodes {
			if volume.CheckNodeAffinity(pv, in.Nodes[j].Labels) == nil {
				admitted = append(admitted, in.Nodes[j].Name)
			}
		}
		out.PVs[pv.Name] = admitted
	}
	for _, sel := range in.Selectors {
		pod := &v1.Pod{Spec: v1.PodSpec{Affinity: &v1.Affinity{NodeAffinity: &v1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: sel.Selector,
		}}}}
		required := nodeaffinity.GetRequiredNodeAffinity(pod)
		admitted := []string{}
		for j := range in.Nodes {
			if ok, _ := required.Match(&in.Nodes[j]); ok {
				admitted = append(admitted, in.Nodes[j].Name)
			}
		}
		out.Selectors[sel.Name] = admitted
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "affinity-oracle:", err)
		os.Exit(1)
	}
}
