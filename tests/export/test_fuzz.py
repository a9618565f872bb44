"""Seeded fuzzing: damaged copies of a trained LeNet-5's .tflite files are refused or answer exactly as
the original; hostile, unverified and data-dependent runaway ones never crash or hang the caller; the
originals are never refused (benchmarks/fuzz.py, smaller)."""

# 308 damaged (byte flips in every region, truncations, appends, structural edits), 66 hostile, 66 unverified
MUTANTS = 440
SEED = 2026


def test_mutated_tflite_files_never_crash_hang_or_answer_wrongly_in_silence(trained_lenet_files, fuzz_tools,
                                                                            data_dependent_files, tmp_path):
    _, float32, int8, _ = trained_lenet_files
    table, failures = fuzz_tools.fuzz({"float32": float32, "int8": int8}, MUTANTS, SEED, tmp_path,
                                      data_dependent_files, time_limit=3, memory_limit_mib=512)
    total = fuzz_tools.print_table(table)
    assert failures == []
    assert sum(row["mutants"] for group, row in table.items()
               if group.split()[0] in ("damaged", "hostile", "unverified")) == MUTANTS
    assert total["crash"] == total["hang"] == total["raw exception"] == total["SILENT wrong"] == 0
    assert total["FALSE refusal"] == 0 and table["valid original"]["ran, same"] == 2
    runaway = {group: row for group, row in table.items() if group.startswith("data-dependent")}
    assert len(runaway) == 4 and all(row["clean error"] == row["mutants"] for row in runaway.values())
    damaged = sum(row["mutants"] for group, row in table.items() if group.startswith("damaged"))
    assert damaged >= 300 and all(row["clean error"] + row["ran, same"] == row["mutants"]
                                  for group, row in table.items() if group.startswith("damaged"))
    regions = {group.split()[1] for group in table if group.startswith("damaged")}
    assert {"header", "tables", "weights", "metadata", "truncated", "appended", "structure:"} <= regions
    hostile = {group.split()[1] for group in table if group.startswith("hostile")}
    assert {"alias", "reshape_batch1", "output_shape", "op_input"} <= hostile
