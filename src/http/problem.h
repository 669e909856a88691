// RFC 9457 problem documents. This is the one place where an ErrorCode becomes an HTTP
// status, a stable machine code and a title; every error response is rendered here.
#pragma once

#include <string_view>

#include "common/status.h"
#include "http/message.h"

namespace finsync::http {

unsigned HttpStatusFor(ErrorCode code);
std::string_view MachineCodeFor(ErrorCode code);
std::string_view TitleFor(ErrorCode code);

// Fills `response` with an application/problem+json body for `error`.
void RenderProblem(const Error& error, std::string_view request_id, std::string_view instance,
                   Response& response);

}  // namespace finsync::http
