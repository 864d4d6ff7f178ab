// Placeholder until the decoder lands: declines everything (msgspec decodes all).
#pragma once
namespace fw {
inline bool parse_event(const char*, const char*, ParsedEv&, std::vector<SV>&) { return false; }
}  // namespace fw
