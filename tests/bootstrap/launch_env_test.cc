// Launcher environments: torchrun, mpirun, srun and colossus-run are read
// the way each launcher writes them; malformed values are clear errors.
#include "bootstrap/launch_env.hpp"

#include <cstring>

#include "bootstrap/address.hpp"
#include "catch.hpp"
#include "colossus/error.hpp"

using colossus::Error;
using colossus::ErrorCode;
using colossus::bootstrap::detect_launch;
using colossus::bootstrap::Environment;
using colossus::bootstrap::launch_unique_id;
using colossus::bootstrap::split_host_port;
using colossus::bootstrap::unique_id_for;
using colossus::bootstrap::UniqueId;

TEST_CASE("no launcher variables means no launch", "[launch]") {
  CHECK_FALSE(detect_launch({}).has_value());
  CHECK_FALSE(detect_launch({{"RANK", "1"}}).has_value());  // WORLD_SIZE missing
}

TEST_CASE("torchrun: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT", "[launch]") {
  const Environment env = {{"RANK", "3"},
                           {"WORLD_SIZE", "8"},
                           {"LOCAL_RANK", "1"},
                           {"MASTER_ADDR", "10.1.2.3"},
                           {"MASTER_PORT", "29500"},
                           {"TORCHELASTIC_RUN_ID", "job7"}};
  auto info = detect_launch(env);
  REQUIRE(info);
  CHECK(info->launcher == "torchrun");
  CHECK(info->rank == 3);
  CHECK(info->world_size == 8);
  CHECK(info->local_rank == 1);
  CHECK(info->bootstrap_host == "10.1.2.3");
  CHECK(info->bootstrap_port == 29501);  // the store keeps MASTER_PORT itself
  // Same job, other rank: same key. Other run id: other key.
  Environment other = env;
  other["RANK"] = "0";
  CHECK(detect_launch(other)->job_key == info->job_key);
  other["TORCHELASTIC_RUN_ID"] = "job8";
  CHECK(detect_launch(other)->job_key != info->job_key);
}

TEST_CASE("mpirun and srun ranks, with COLOSSUS_BOOTSTRAP_ADDR for the rendezvous", "[launch]") {
  auto mpi = detect_launch({{"OMPI_COMM_WORLD_RANK", "2"},
                            {"OMPI_COMM_WORLD_SIZE", "4"},
                            {"OMPI_COMM_WORLD_LOCAL_RANK", "0"},
                            {"COLOSSUS_BOOTSTRAP_ADDR", "node0:5000"}});
  REQUIRE(mpi);
  CHECK(mpi->launcher == "mpirun");
  CHECK((mpi->rank == 2 && mpi->world_size == 4 && mpi->local_rank == 0));
  CHECK((mpi->bootstrap_host == "node0" && mpi->bootstrap_port == 5000));

  auto slurm = detect_launch({{"SLURM_PROCID", "5"},
                              {"SLURM_NTASKS", "16"},
                              {"SLURM_LOCALID", "1"},
                              {"SLURM_JOB_ID", "9"}});
  REQUIRE(slurm);
  CHECK(slurm->launcher == "srun");
  CHECK((slurm->rank == 5 && slurm->world_size == 16 && slurm->local_rank == 1));
  CHECK(slurm->bootstrap_host.empty());  // srun gives no rendezvous of its own
}

TEST_CASE("colossus-run variables win over the launcher that started colossus-run", "[launch]") {
  auto info = detect_launch({{"COLOSSUS_RANK", "1"},
                             {"COLOSSUS_WORLD_SIZE", "2"},
                             {"COLOSSUS_JOB_ID", "abc"},
                             {"COLOSSUS_BOOTSTRAP_ADDR", "[::1]:7000"},
                             {"SLURM_PROCID", "0"},
                             {"SLURM_NTASKS", "1"}});
  REQUIRE(info);
  CHECK(info->launcher == "colossus-run");
  CHECK(info->rank == 1);
  CHECK((info->bootstrap_host == "::1" && info->bootstrap_port == 7000));
}

TEST_CASE("malformed launcher values are rejected with the variable named", "[launch]") {
  auto expect = [](const Environment& env, const std::string& words) {
    try {
      detect_launch(env);
      FAIL("accepted " << words);
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::InvalidArgument);
      CHECK(std::string(e.what()).find(words) != std::string::npos);
    }
  };
  expect({{"RANK", "8"}, {"WORLD_SIZE", "8"}}, "RANK=8");
  expect({{"RANK", "-1"}, {"WORLD_SIZE", "8"}}, "RANK=-1");
  expect({{"RANK", "x"}, {"WORLD_SIZE", "8"}}, "RANK=x");
  expect({{"RANK", "0"}, {"WORLD_SIZE", "0"}}, "WORLD_SIZE=0");
  expect(
      {{"COLOSSUS_RANK", "0"}, {"COLOSSUS_WORLD_SIZE", "2"}, {"COLOSSUS_BOOTSTRAP_ADDR", "nohost"}},
      "COLOSSUS_BOOTSTRAP_ADDR=nohost");
}

TEST_CASE("a launched job's unique id: the launcher's address and job key, or a clear refusal",
          "[launch]") {
  auto rank1 = detect_launch({{"COLOSSUS_RANK", "1"},
                              {"COLOSSUS_WORLD_SIZE", "2"},
                              {"COLOSSUS_JOB_ID", "abc"},
                              {"COLOSSUS_BOOTSTRAP_ADDR", "127.0.0.1:7000"}});
  REQUIRE(rank1);
  // A rank other than 0 computes the id without listening.
  const UniqueId id = launch_unique_id(*rank1, "caller");
  const UniqueId want = unique_id_for("127.0.0.1:7000", rank1->job_key);
  CHECK(std::memcmp(&id, &want, sizeof id) == 0);

  auto slurm = detect_launch({{"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "2"}});
  REQUIRE(slurm);
  try {
    launch_unique_id(*slurm, "caller");
    FAIL("an id without a rendezvous address");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::InvalidUsage);
    CHECK(std::string(e.what()).rfind("caller: srun gives no rendezvous address", 0) == 0);
  }
}

TEST_CASE("host:port splitting", "[launch]") {
  // The one host[:port] syntax (bootstrap/address.hpp), as the launch
  // environment uses it: a port is required there.
  auto split = [](const std::string& text, std::string* h, int* p) {
    colossus::bootstrap::HostPort hp;
    std::string why;
    if (!split_host_port(text, &hp, &why) || !hp.has_port) return false;
    *h = hp.host;
    *p = hp.port;
    return true;
  };
  std::string h;
  int p = 0;
  CHECK((split("a.b:80", &h, &p) && h == "a.b" && p == 80));
  CHECK((split("[fe80::1]:9", &h, &p) && h == "fe80::1" && p == 9));
  CHECK_FALSE(split("a.b", &h, &p));
  CHECK_FALSE(split(":80", &h, &p));
  CHECK_FALSE(split("a:99999", &h, &p));
  CHECK_FALSE(split("fe80::1:9", &h, &p));
  colossus::bootstrap::HostPort hp;
  std::string why;
  CHECK((split_host_port("fe80::1", &hp, &why) && hp.host == "fe80::1" && !hp.has_port));
  CHECK((split_host_port("[::1]", &hp, &why) && hp.host == "::1" && !hp.has_port));
  CHECK((split_host_port("eth0:0", &hp, &why) && hp.has_port && hp.port == 0));
  for (const char* bad : {"", "[::1", "[::1]x", "[::1]:", "host:", ":5", "a:+5", "a:-1", "a: 5"}) {
    INFO(bad);
    CHECK_FALSE(split_host_port(bad, &hp, &why));
    CHECK_FALSE(why.empty());
  }
}
