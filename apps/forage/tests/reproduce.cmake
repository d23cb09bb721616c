# Regenerates the shipped catalogue and labels with the command
# apps/forage/README.md gives, and fails unless both match byte for byte.
file(MAKE_DIRECTORY ${OUT})
execute_process(
  COMMAND ${FORAGE} gen-catalogue --seed 1 --items 4000 --dim 32 --labels ${OUT}/labels.tsv
  OUTPUT_FILE ${OUT}/catalogue.tsv RESULT_VARIABLE rv)
if(NOT rv EQUAL 0)
  message(FATAL_ERROR "forage gen-catalogue failed: ${rv}")
endif()
foreach(f catalogue.tsv labels.tsv)
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${OUT}/${f} ${DATA}/${f}
                  RESULT_VARIABLE diff)
  if(NOT diff EQUAL 0)
    message(FATAL_ERROR "${DATA}/${f} is not what gen-catalogue --seed 1 makes")
  endif()
endforeach()
file(REMOVE_RECURSE ${OUT})
