package main

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"

	"github.com/iomapct/iomapct/cases"
)

// planDrift says, for a case that failed in the guest, whether the ops the
// agent ran still equal the ones in /plan.json: a failure of ops that
// changed in the agent's memory after it read the plan (seen once as a
// writev whose iovec length had lost 10 bytes, reported as a short write)
// is the guest's memory going wrong, not the op. It re-reads the plan only
// then, so passing cases cost nothing. "" when they are equal or the plan
// cannot be read again.
func planDrift(disk, name string, ran []cases.Op) string {
	b, err := os.ReadFile("/plan.json")
	if err != nil {
		return ""
	}
	var plan cases.Plan
	if json.Unmarshal(b, &plan) != nil {
		return ""
	}
	for _, d := range plan.Disks {
		if d.Name != disk {
			continue
		}
		for _, f := range d.Files {
			if f.Case != name {
				continue
			}
			return opsDrift(f.Ops, ran)
		}
	}
	return ""
}

// opsDrift compares the planned ops with the ones that ran.
func opsDrift(planned, ran []cases.Op) string {
	if len(planned) != len(ran) {
		return fmt.Sprintf("; the agent ran %d ops, /plan.json has %d: the agent's copy changed in guest memory", len(ran), len(planned))
	}
	for i := range planned {
		if !reflect.DeepEqual(planned[i], ran[i]) {
			return fmt.Sprintf("; op %d in the agent's memory (%s) differs from /plan.json (%s): guest memory changed under the agent, the op itself was not what the host planned", i, ran[i], planned[i])
		}
	}
	return ""
}
