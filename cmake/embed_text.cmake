# Writes OUTPUT: a C file defining `const char NAME[]`, the bytes of INPUT
# and a terminating NUL (cmake -DINPUT=... -DOUTPUT=... -DNAME=... -P this).
file(READ "${INPUT}" content HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," content "${content}")
file(WRITE "${OUTPUT}" "/* Generated from ${INPUT}: do not edit. */\nconst char ${NAME}[] = {${content}0};\n")
