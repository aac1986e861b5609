package compiler

import (
	"sort"

	"lattice.dev/lattice/lang/diag"
	"lattice.dev/lattice/lang/spec"
)

// Graph is the pipeline's DAG without any hashing: datasets, stage
// instances (experiment trials included) and the edges between them.
type Graph struct {
	Datasets []string    `json:"datasets"`
	Stages   []GraphNode `json:"stages"`
	Edges    []GraphEdge `json:"edges"`
}

// GraphNode is one stage instance.
type GraphNode struct {
	Name       string `json:"name"`
	Experiment string `json:"experiment,omitempty"`
}

// GraphEdge says that To reads From through input Input. From is a stage,
// or a dataset when Dataset is set.
type GraphEdge struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Input   string `json:"input"`
	Dataset bool   `json:"dataset,omitempty"`
}

// BuildGraph resolves a spec's references into its DAG, reporting cycles
// and unresolvable inputs, without touching any file.
func BuildGraph(p *spec.Project) (*Graph, diag.Diagnostics) {
	c := &compilation{p: p, by: map[string]*instance{}}
	c.instances()
	c.resolve()
	if !c.ds.HasErrors() {
		c.cycles()
	}
	g := &Graph{Datasets: []string{}, Stages: []GraphNode{}, Edges: []GraphEdge{}}
	for _, d := range p.Datasets {
		g.Datasets = append(g.Datasets, d.Name)
	}
	for _, in := range c.inst {
		n := GraphNode{Name: in.name}
		if in.exp != nil {
			n.Experiment = in.exp.Name
		}
		g.Stages = append(g.Stages, n)
		for _, r := range in.inputs {
			if r.in.Dataset != "" {
				g.Edges = append(g.Edges, GraphEdge{From: r.in.Dataset, To: in.name, Input: r.in.Name, Dataset: true})
			}
			for _, up := range r.producers {
				g.Edges = append(g.Edges, GraphEdge{From: up, To: in.name, Input: r.in.Name})
			}
		}
	}
	sort.Slice(g.Stages, func(i, j int) bool { return g.Stages[i].Name < g.Stages[j].Name })
	sort.Slice(g.Edges, func(i, j int) bool {
		a, b := g.Edges[i], g.Edges[j]
		if a.To != b.To {
			return a.To < b.To
		}
		if a.From != b.From {
			return a.From < b.From
		}
		return a.Input < b.Input
	})
	return g, c.ds.Sort()
}
