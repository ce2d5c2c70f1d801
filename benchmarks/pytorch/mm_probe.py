#!/usr/bin/env python3
"""Times a 2048x2048 float32 matrix product through LibTorchSharp's C API from a Python process (ctypes, no PyTorch
and no .NET), to tell the cost of the .NET process from that of the library: compare its figure with
`Diffusion.Benchmarks compare --mode peak --size 2048 --threads N`, which makes the same call from .NET.

usage: LD_LIBRARY_PATH=<dir of libtorch> OMP_NUM_THREADS=N python3 mm_probe.py <path to libLibTorchSharp.so> N
(use the copy in a build output, e.g. tests/*/bin/Debug/net10.0/runtimes/linux-x64/native/, which the build patches
to load on Debian 12; that folder also holds libtorch.)
"""
import ctypes
import sys
import time

lib = ctypes.CDLL(sys.argv[1], mode=ctypes.RTLD_GLOBAL)
threads = int(sys.argv[2])
lib.THSTorch_set_num_threads.argtypes = [ctypes.c_int]
lib.THSTorch_set_num_threads(threads)
# THSTensor_ones(sizes, ndims, scalar type (6 = float32), device type (0 = CPU), device index, requires grad)
lib.THSTensor_ones.restype = ctypes.c_void_p
lib.THSTensor_ones.argtypes = [ctypes.POINTER(ctypes.c_int64), ctypes.c_int, ctypes.c_int8, ctypes.c_int, ctypes.c_int, ctypes.c_bool]
lib.THSTensor_mm.restype = ctypes.c_void_p
lib.THSTensor_mm.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
lib.THSTensor_dispose.argtypes = [ctypes.c_void_p]

n = 2048
sizes = (ctypes.c_int64 * 2)(n, n)
a = lib.THSTensor_ones(sizes, 2, 6, 0, -1, False)
b = lib.THSTensor_ones(sizes, 2, 6, 0, -1, False)
best_wall = best_cpu = float("inf")
for i in range(6):  # the first call warms up
    t0, c0 = time.perf_counter(), time.process_time()
    c = lib.THSTensor_mm(a, b)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    lib.THSTensor_dispose(c)
    if i > 0:
        best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
flops = 2 * n ** 3
print(f"matmul {n}x{n} float32, {threads} thread(s): {flops / best_wall / 1e9:.0f} GFLOP/s best wall, {flops / best_cpu / 1e9:.0f} by CPU time")
