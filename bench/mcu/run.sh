#!/bin/sh
# bench/mcu/run.sh [DIR] - instructions per inference (QEMU TCG plugin, exact counts) of the
# MCU backend's code for tests/mcu/gen_mcu_model.py's s8 and mb models and the digits MLP
# (quantized by effc), on each target, with the target's kernels and with the scalar ones
# (-DEFFC_MCU_ISA=0); flash constants and arena from the report. Counts are of the whole
# program (startup, the semihosting runner's .npy reading and writing, one inference).
# Needs effc on PATH, arm-none-eabi-gcc, qemu-system-arm with plugin support.
set -eu
dir=${1:-/tmp/effc-mcu-bench}
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$dir"
gcc -O2 -shared -fPIC -o "$dir/libinsncount.so" "$root/bench/mcu/insncount.c"
python3 "$root/tests/mcu/gen_mcu_model.py" s8 "$dir/s8.onnxtxt" "$dir/s8.npy" > /dev/null
python3 "$root/tests/mcu/gen_mcu_model.py" mb "$dir/mb.onnxtxt" "$dir/mb.npy" > /dev/null
D=$root/examples/digits
effc opt "$D/mlp.onnxtxt" -p "quantize{data=$D/calib_x.npy},qdq-fuse" -o "$dir/mlp.onnxtxt" 2> /dev/null
python3 -c "
import struct
d = open('$D/test_x.npy', 'rb').read(); h = struct.unpack('<H', d[8:10])[0]
hdr = \"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 8, 8), }\"
hdr += ' ' * ((64 - (10 + len(hdr) + 1) % 64) % 64) + '\n'
open('$dir/mlp.npy', 'wb').write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(hdr)) + hdr.encode() + d[10 + h:10 + h + 256])"
count() { # machine elf -> instructions
  timeout 120 qemu-system-arm -M "$1" -nographic -monitor none -semihosting-config enable=on,target=native \
    -plugin "$dir/libinsncount.so" -d plugin -kernel "$2" < /dev/null 2>&1 | sed -n 's/^insncount: total=//p'
}
printf '%-8s %-11s %10s %10s %14s %14s\n' model target flash arena "insns (ISA)" "insns (scalar)"
for model in s8 mb mlp; do
  nout=$( [ $model = s8 ] && echo ', out[1]' || true)
  for t in cortex-m4:mps2-an386:m4.ld:"-mcpu=cortex-m4 -mfpu=fpv4-sp-d16" \
           cortex-m7:mps2-an500:m7.ld:"-mcpu=cortex-m7 -mfpu=fpv5-d16" \
           cortex-m55:mps3-an547:m55.ld:"-mcpu=cortex-m55"; do
    tg=${t%%:*}; r=${t#*:}; mach=${r%%:*}; r=${r#*:}; ld=${r%%:*}; cpu=${r#*:}
    out=$dir/$model-$tg
    rm -rf "$out" && mkdir -p "$out/data" && cp "$dir/$model.npy" "$out/data/in0.npy"
    dim=$( [ $model = mlp ] && echo "--dim N=1" || true)
    # shellcheck disable=SC2086
    effc compile "$dir/$model.onnxtxt" --target "$tg" $dim --output-dir "$out/c" -q
    n=""
    for v in isa scalar; do
      extra=""
      [ $v = scalar ] && extra=-DEFFC_MCU_ISA=0
      # shellcheck disable=SC2086
      arm-none-eabi-gcc $cpu -mthumb -mfloat-abi=hard -O2 -std=gnu11 --specs=rdimon.specs -nostartfiles \
        -T "$root/tests/mcu/$ld" -I"$out/c" -DDATA_DIR="\"$out/data\"" -DMODEL_ARGS=", in[0], out[0]$nout" $extra \
        "$root/tests/mcu/startup.c" "$root/tests/mcu/m4_main.c" "$out/c/model.c" -o "$out/$v.elf"
      n="$n $(count "$mach" "$out/$v.elf")"
    done
    set -- $n
    printf '%-8s %-11s %10s %10s %14s %14s\n' $model $tg \
      "$(awk '/^flash constants:/ {print $3}' "$out/c/model_report.txt")" \
      "$(awk '/^arena:/ {print $2}' "$out/c/model_report.txt")" "$1" "$2"
  done
done
