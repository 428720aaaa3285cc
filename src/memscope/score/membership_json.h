#pragma once
// membership.json and membership-denoise.json: the membership results written as JSON and read back
// into the same structs (the report reads them through read_membership_json only).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "memscope/score/membership.h"

namespace memscope {

/// membership.json: configuration, the null of M, per attack the spreads, pooled figures, curves and
/// per-target results.
nlohmann::json to_json(const MembershipResult& r);
/// One attack as in membership.json; without its per-target list, curves and null curve unless full.
nlohmann::json to_json(const AttackResult& a, bool full);
/// The "null" object of membership.json (null when no draw was run).
nlohmann::json to_json(const MemNull& n, double fdr);

/// membership.json parsed; throws memscope::Error naming path and the field for a missing field or one of
/// the wrong type.
MembershipResult membership_from_json(const nlohmann::json& j, const std::string& path);
MembershipResult read_membership_json(const std::string& path);

/// The attacks on a diffusion model's denoising loss, per loss timestep (ascending).
using DenoiseMembership = std::vector<std::pair<int64_t, MembershipResult>>;
/// membership-denoise.json: {"timesteps": {"T": membership.json of the attacks at T, ...}}.
nlohmann::json to_json(const DenoiseMembership& d);
DenoiseMembership read_membership_denoise_json(const std::string& path);

}  // namespace memscope
