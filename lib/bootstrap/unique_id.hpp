// unique_id.hpp: the 128 bytes that name one job's rendezvous.
//
// As with ncclGetUniqueId: rank 0 calls make_unique_id(), which starts
// listening at once and returns an id holding that address and a fresh
// random secret; the caller hands the id to every rank out of band (MPI,
// a file, an environment variable via to_string); every rank then calls
// Bootstrap::create with it. The listener waits in a process-wide registry
// until rank 0's Bootstrap takes it, so ranks that arrive before rank 0 calls
// create are queued by the kernel rather than refused.
//
// A UniqueId is plain data: copy it with memcpy, send it as bytes. Its
// integers are in the byte order of the host that made it; hosts of one job
// share one, and an id from a host that does not fails the magic check.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>

#include "bootstrap/address.hpp"
#include "bootstrap/socket.hpp"

namespace colossus::bootstrap {

constexpr uint32_t kUniqueIdMagic = 0x44495343;  // "CSID" as little-endian bytes

struct UniqueId {
  uint32_t magic;       // kUniqueIdMagic
  uint32_t version;     // kProtocolVersion of the maker
  uint64_t secret;      // every hello must carry it
  WireAddress root;     // where rank 0 listens
  uint8_t padding[88];  // zero
};
static_assert(sizeof(UniqueId) == 128, "a UniqueId is exactly NCCL_UNIQUE_ID_BYTES");
static_assert(std::is_trivially_copyable_v<UniqueId> && std::is_standard_layout_v<UniqueId>);

// On rank 0: listens on `bind_spec` (see resolve_spec; "" = the config's
// COLOSSUS_BOOTSTRAP_ADDR, else this host's default interface; port 0 =
// ephemeral) and returns an id naming the listener, with a random secret.
// Throws Error(InvalidArgument) on a bad spec, Error(SystemError) when the
// address cannot be bound.
UniqueId make_unique_id(const std::string& bind_spec);
// The same with a given secret: for launchers (torchrun, srun) where each
// rank derives the id from the environment instead of receiving it.
UniqueId make_unique_id(const std::string& bind_spec, uint64_t secret);
// A listener on this host's address `near` (its port ignored: the kernel
// picks one) and an id naming it, quietly: every rank of a job keeps one,
// so that survivors of a failure can meet at it without a new id (shrink).
UniqueId make_spare_id(Endpoint near);
// The id rank 0 makes with make_unique_id(where, secret), computed without
// listening: for the other ranks of such launchers. `where` needs a port.
UniqueId unique_id_for(const std::string& where, uint64_t secret);

// 256 lowercase hex digits.
std::string to_string(const UniqueId& id);
// Accepts to_string's output (surrounding whitespace allowed); false on
// anything else, including ids whose fields make no sense.
bool parse_unique_id(const std::string& text, UniqueId* id);
// False (with *why) when the id is not one make_unique_id could have made.
bool check_unique_id(const UniqueId& id, std::string* why);

// Closes this process's listener for `id`, if it holds one: for an id that
// will not be used here (a parent that forked the ranks, an abandoned id).
void discard_unique_id(const UniqueId& id);
// A rank other than 0 in a process forked after make_unique_id closes its
// inherited copy of rank 0's listener, so that once rank 0 is done the port
// refuses latecomers instead of queueing them. Listeners made by this very
// process (ranks as threads) are left alone.
void drop_inherited_listener(const UniqueId& id);
// Rank 0's Bootstrap takes the listener out of the registry; empty Fd when
// this process has none for `id` (then rank 0 listens on the id's address).
Fd take_listener(const UniqueId& id);

// `id` with another secret. If this process holds the listener registered
// for `id` (make_unique_id made it, rank 0's Bootstrap has not taken it),
// that listener is re-registered under the new secret, so a later
// Bootstrap::create(new_id, 0, ...) here takes it: a spare id made at init
// becomes a fresh job's (shrink) without a new port to hand around.
UniqueId with_secret(const UniqueId& id, uint64_t secret);

// 64 random bits from getrandom(2), else /dev/urandom. Throws SystemError.
uint64_t random_secret();

}  // namespace colossus::bootstrap
