// Turning a Reply into bytes on the wire, and the fault actions that change
// those bytes (or withhold them).
#pragma once

#include <httplib.h>

#include "devlocker/faults.h"
#include "devlocker/util.h"

namespace devlocker {

void WriteReply(const Reply& reply, httplib::Response& res);

// Faults acting before the engine runs. Returns true when the response is
// decided (the engine must not run); delays return false after sleeping.
bool ApplyFaultBefore(const Fault& fault, Faults& faults, const httplib::Request& req,
                      httplib::Response& res);
// Faults that alter a finished response (truncate, slow).
void ApplyFaultAfter(const Fault& fault, Faults& faults, httplib::Response& res);

}  // namespace devlocker
