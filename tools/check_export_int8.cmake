# The test of lmnet_export_int8 (ctest tools.export_int8): each model is calibrated on a few
# training images (lmnet_quantize), exported, and run from its JSON in numpy in lmnet's integer
# arithmetic (tools/int8_numpy.py), whose outputs must equal lmnet int8's bit for bit.
#
#   cmake -DTOOLS=<dir of the tools> -DSOURCE=<source dir> -DWORK=<scratch dir>
#         -DPYTHON=<python with numpy> -DMODELS=<model,...> -P check_export_int8.cmake
file(MAKE_DIRECTORY ${WORK})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE out)
  message(STATUS "${out}")
  if(NOT status EQUAL 0)
    list(JOIN ARGN " " command)
    message(FATAL_ERROR "failed (${status}): ${command}")
  endif()
endfunction()
string(REPLACE "," ";" MODELS "${MODELS}")
foreach(model IN LISTS MODELS)
  set(stem ${WORK}/${model})
  run(${TOOLS}/lmnet_quantize ${model} ${SOURCE}/examples/weights/fashion_mnist/${model}.safetensors
      ${stem}.safetensors --images 32)
  run(${TOOLS}/lmnet_export_int8 ${model} ${stem}.safetensors ${stem}.json)
  run(${TOOLS}/lmnet_fashion_mnist ${model} ${stem}.safetensors --backend int8 --count 16
      --threads 1 --logits ${stem}.logits.f32 --inputs ${stem}.inputs.f32)
  run(${PYTHON} ${SOURCE}/tools/int8_numpy.py ${stem}.json ${stem}.inputs.f32 ${stem}.logits.f32
      --count 16)
endforeach()
