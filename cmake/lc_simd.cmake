# Per-file SIMD flags: sources named *_avx2.c and *_avx512.c are compiled for
# that level; the run-time dispatcher (core/kernels) picks one from CPUID.
set(LC_AVX2_FLAGS -mavx2 -mfma -mbmi -mbmi2 -mpopcnt -mf16c)
set(LC_AVX512_FLAGS -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma -mbmi -mbmi2 -mpopcnt -mf16c)
# The kernels give the same floating-point results on every level, so no
# multiply-add may be contracted into an FMA in any of their files.
set(LC_KERNEL_FLAGS -ffp-contract=off)

function(lc_simd_flags target sources)
  foreach(src ${sources})
    set(opts "")
    if(src MATCHES "_avx512\\.c$")
      set(opts ${LC_AVX512_FLAGS})
    elseif(src MATCHES "_avx2\\.c$")
      set(opts ${LC_AVX2_FLAGS})
    endif()
    if(src MATCHES "/core/kernels/")
      list(APPEND opts ${LC_KERNEL_FLAGS})
    endif()
    if(opts)
      set_source_files_properties(${src} TARGET_DIRECTORY ${target}
        PROPERTIES COMPILE_OPTIONS "${opts}")
    endif()
  endforeach()
endfunction()
