# Regenerates the shipped catalogue and labels with the command
# docs/catalogue.md gives, in a fresh directory under /tmp that is removed
# whatever happens, and fails unless both match the shipped files byte for
# byte.
string(RANDOM LENGTH 10 tag)
set(OUT /tmp/forage-reproduce-${tag})
file(MAKE_DIRECTORY ${OUT})
execute_process(
  COMMAND ${FORAGE} gen-catalogue --seed 1 --items 4000 --dim 32 --labels ${OUT}/labels.tsv
  OUTPUT_FILE ${OUT}/catalogue.tsv RESULT_VARIABLE rv)
set(problem "")
if(NOT rv EQUAL 0)
  set(problem "forage gen-catalogue failed: ${rv}")
else()
  foreach(f catalogue.tsv labels.tsv)
    execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${OUT}/${f} ${DATA}/${f}
                    RESULT_VARIABLE diff)
    if(NOT diff EQUAL 0)
      set(problem "${DATA}/${f} is not what gen-catalogue --seed 1 makes")
    endif()
  endforeach()
endif()
file(REMOVE_RECURSE ${OUT})
if(problem)
  message(FATAL_ERROR "${problem}")
endif()
