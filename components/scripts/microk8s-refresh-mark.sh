# the roll-out's steps are new here (a node that just joined, a site just taken over): what runs now
# is what this refresh asked for, nothing is refreshed
if [ "$tracking" = "$want" ]; then
  mkdir -p {{state_dir}} && printf '%s\n' {{refresh}} > {{refreshed_mark}}
  refreshed={{refresh}}
fi
