package main

import (
	"strings"
)

// unheardID is the refusal id of a bridge that has not heard the service
// since it started.
const unheardID = "unheard"

// unheardRefusal is what the bridge writes into scap's lock file before
// the service has answered once: a bridge that starts during an outage,
// or with a wrong URL, knows nothing, so it guards rather than opens.
func unheardRefusal(o observation, p bridgePolicy) refusal {
	why := "no answer yet"
	if o.lastErr != "" {
		why = strings.Join(strings.Fields(o.lastErr), " ")
	}
	return refusal{id: unheardID, reason: "scaplock has not been heard yet since the bridge started (" + why +
		"); deploys refused by the bridge until it answers; status: " + p.statusURL}
}
