#!/bin/sh
# check.sh TARGET KIND DIR - one MCU backend check on an emulated board (tests/lit/mcu_*.onnxtxt):
#   1. gen_mcu_model.py KIND: an integer CNN and its float input;
#   2. the interpreter's outputs (effc run);
#   3. effc compile --target TARGET; model.c built alone with arm-none-eabi-gcc -Werror: no
#      undefined symbol but memcpy/memmove/memset (no malloc, no stdio), .data empty, .rodata
#      and .bss exactly the report's flash constants and arena;
#   4. linked with the board's startup, the part's linker script and the semihosting runner,
#      run under qemu-system-arm (timeout 120 s); every output equal to the interpreter's.
# effc must be on PATH. Prints one line per step; exits non-zero at the first failure.
set -eu
target=$1 kind=$2 dir=$3
here=$(cd "$(dirname "$0")" && pwd)
case $target in
cortex-m4) cpu="-mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard" machine=mps2-an386 ld=m4.ld ;;
cortex-m7) cpu="-mcpu=cortex-m7 -mthumb -mfpu=fpv5-d16 -mfloat-abi=hard" machine=mps2-an500 ld=m7.ld ;;
cortex-m55) cpu="-mcpu=cortex-m55 -mthumb -mfloat-abi=hard" machine=mps3-an547 ld=m55.ld ;;
*) echo "check.sh: unknown target $target" >&2; exit 2 ;;
esac
mkdir -p "$dir/data"
names=$(python3 "$here/gen_mcu_model.py" "$kind" "$dir/model.onnxtxt" "$dir/data/in0.npy")
effc run "$dir/model.onnxtxt" -i "x=$dir/data/in0.npy" --output-dir "$dir/ref" > /dev/null
effc compile "$dir/model.onnxtxt" --target "$target" --output-dir "$dir/c" -q
# shellcheck disable=SC2086
arm-none-eabi-gcc $cpu -O2 -std=gnu11 -Wall -Wextra -Werror -ffunction-sections -fdata-sections \
  -I"$dir/c" -c "$dir/c/model.c" -o "$dir/model.o"
undef=$(arm-none-eabi-nm -u "$dir/model.o" | awk '{print $2}' | grep -v -x -e memcpy -e memmove -e memset || true)
if [ -n "$undef" ]; then echo "model.o needs: $undef"; exit 1; fi
echo "model code: no allocation, no stdio"
# the ISA's dot product is really in the code (objdump shows MVE as coprocessor ops: read -S)
# shellcheck disable=SC2086
n=$(arm-none-eabi-gcc $cpu -O2 -std=gnu11 -S -I"$dir/c" "$dir/c/model.c" -o - | grep -c -w -e smlad -e vmladava.s16 || true)
if [ "$n" -eq 0 ]; then echo "no SMLAD / VMLADAVA in the model code"; exit 1; fi
echo "dot products: SMLAD or VMLADAVA present"
sizes=$(arm-none-eabi-size -A "$dir/model.o" | awk '
  $1 ~ /^\.rodata/ {r += $2} $1 ~ /^\.bss/ {b += $2} $1 ~ /^\.data/ {d += $2}
  END {printf "%d %d %d", r, b, d}')
set -- $sizes
flash=$(awk '/^flash constants:/ {print $3}' "$dir/c/model_report.txt")
arena=$(awk '/^arena:/ {print $2}' "$dir/c/model_report.txt")
if [ "$1" != "$flash" ] || [ "$2" != "$arena" ] || [ "$3" != 0 ]; then
  echo "size mismatch: .rodata $1 .bss $2 .data $3, report: flash constants $flash, arena $arena"
  exit 1
fi
echo "size agrees with the report: .rodata $1 = flash constants, .bss $2 = arena, .data 0"
nout=$(echo $names | wc -w)
args=", in[0]"
i=0
while [ $i -lt "$nout" ]; do args="$args, out[$i]"; i=$((i + 1)); done
# shellcheck disable=SC2086
arm-none-eabi-gcc $cpu -O2 -std=gnu11 --specs=rdimon.specs -nostartfiles -T "$here/$ld" \
  -I"$dir/c" -DDATA_DIR="\"$dir/data\"" -DMODEL_ARGS="$args" "$here/startup.c" "$here/m4_main.c" \
  "$dir/model.o" -o "$dir/prog.elf"
timeout 120 qemu-system-arm -M "$machine" -nographic -monitor none \
  -semihosting-config enable=on,target=native -kernel "$dir/prog.elf" < /dev/null
i=0
for name in $names; do
  effc compare "$dir/data/out$i.npy" "$dir/ref/$name.npy" --rtol 0 --atol 0 > /dev/null
  echo "output $name: bit-exact with the interpreter"
  i=$((i + 1))
done
