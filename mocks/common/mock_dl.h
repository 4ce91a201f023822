/*
 * mock_dl — libcurl and libcrypto loaded on first use: mock_dl.c defines the functions of theirs
 * that the mocks call and loads the library at the first call, so that a mock that sends no
 * webhook and checks no signature never maps them (and the ~25 libraries libcurl brings).
 */
#ifndef SBX_MOCK_DL_H
#define SBX_MOCK_DL_H

/*
 * Unload the libraries loaded so far (libcurl after its global clean-up). Only at exit, after
 * every thread that could call them has stopped: no wrapper may be called afterwards.
 */
void mock_dl_unload(void);

#endif
