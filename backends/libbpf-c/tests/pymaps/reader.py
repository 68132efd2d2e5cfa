# exec'd by prog (not run by the test)
