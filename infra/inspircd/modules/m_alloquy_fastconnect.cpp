/*
 * m_alloquy_fastconnect: finish client registration immediately.
 *
 * SPDX-License-Identifier: GPL-2.0-only
 * (It is loaded into InspIRCd, which is GPL-2.0-only.)
 *
 * InspIRCd 3 never sends 001 from the command that completes registration.
 * NICK/USER only move a client to REG_NICKUSER; the welcome is sent by
 * UserManager::DoBackgroundUserStuff, which calls LocalUser::FullConnect()
 * once every OnCheckReady hook passes, but runs only on the first main-loop
 * iteration after the wall-clock second changes. An idle server sleeps up to
 * a second in its socket wait, so it answers a login ~1 s late. This module
 * runs that same readiness check at the moment the client's input could have
 * made it true, so the welcome goes out in the same main-loop iteration.
 *
 * What we deliberately do NOT change:
 *  - Readiness is decided by the modules exactly as in the core (OnCheckReady:
 *    CAP negotiation still open, TLS handshake, ident/DNS/DNSBL, SQL/LDAP auth,
 *    ...). A client is only ever completed early, never differently.
 *  - FullConnect() itself re-selects the connect class and runs CheckClass()
 *    and the X-line checks, as on the core path; registration timeouts stay
 *    with the core, which (like us) does not apply them to a ready client.
 *  - Readiness that flips without client input (ident or DNS answers, an SQL
 *    reply) is still picked up by the core's background pass within a second.
 *  - One deliberate extra hold: InspIRCd 3's m_sasl does not hold registration
 *    (no OnCheckReady); it aborts an unfinished SASL exchange when the client
 *    connects. A client that sends CAP END before its SASL result (pipelining)
 *    used to win that race most of the time because the core waited for its
 *    next pass; completing it at once would make it lose every time. So while
 *    m_sasl has an exchange open for the user we leave the user to the core.
 *  - A client whose readiness we never see is simply left to the core: the
 *    background pass is the fallback for everything this module misses.
 */

#include "inspircd.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

class ModuleAlloquyFastConnect : public Module
{
	/* Non-null while we are inside FullConnect(). The core only marks the user
	 * REG_ALL after every OnUserConnect hook has run, so anything those hooks
	 * do that ends up back in our hooks must not start a second FullConnect(). */
	LocalUser* connecting;

	struct ConnectingGuard
	{
		LocalUser*& slot;
		ConnectingGuard(LocalUser*& s, LocalUser* user) : slot(s) { slot = user; }
		~ConnectingGuard() { slot = NULL; }
	};

	/* m_sasl keeps this extension on a user exactly while an AUTHENTICATE
	 * exchange is open. Looked up by name each time rather than cached, so
	 * m_sasl can be loaded or unloaded at any time. */
	static bool SaslInProgress(LocalUser* user)
	{
		ExtensionItem* item = ServerInstance->Extensions.GetItem("sasl_auth");
		if (!item)
			return false;
		const Extensible::ExtensibleStore& exts = user->GetExtList();
		return exts.find(item) != exts.end();
	}

	void TryConnect(LocalUser* user)
	{
		/* Commands may quit the user (QUIT, a failed password, a K-line), and
		 * the object then stays valid only until the end of this iteration:
		 * never touch a quitting user. REG_NICKUSER is the one state the core's
		 * background pass completes; REG_ALL means already connected. */
		if (connecting || !user || user->quitting || user->registered != REG_NICKUSER)
			return;

		if (SaslInProgress(user))
			return;

		ModResult res;
		FIRST_MOD_RESULT(OnCheckReady, res, (user));
		/* Some OnCheckReady hooks quit the user as their verdict (e.g. failed
		 * SQL/LDAP auth), so re-check even on PASSTHRU. */
		if (res != MOD_RES_PASSTHRU || user->quitting)
			return;

		ConnectingGuard guard(connecting, user);
		user->FullConnect();
	}

 public:
	ModuleAlloquyFastConnect()
		: connecting(NULL)
	{
	}

	void Prioritize() CXX11_OVERRIDE
	{
		/* Run after every other module has finished with the command (e.g.
		 * labeled-response's end-of-command handling), so no module sees the
		 * client become registered halfway through a command. */
		ServerInstance->Modules->SetPriority(this, I_OnPostCommand, PRIORITY_LAST);
		ServerInstance->Modules->SetPriority(this, I_OnCommandBlocked, PRIORITY_LAST);
		/* Before spanningtree claims connections to the server port. */
		ServerInstance->Modules->SetPriority(this, I_OnAcceptConnection, PRIORITY_FIRST);
	}

	/* InspIRCd 3 leaves Nagle's algorithm on. IRC is small lines in both
	 * directions, so a line sent while the peer still holds an unacknowledged
	 * one (delayed ACK) waits ~40 ms: measured on the services link (SASL
	 * challenge) and on clients (903 held behind 900). Every accepted socket,
	 * client or server link, gets TCP_NODELAY; failure (a UNIX socket) is
	 * harmless. */
	ModResult OnAcceptConnection(int fd, ListenSocket*, irc::sockets::sockaddrs*, irc::sockets::sockaddrs*) CXX11_OVERRIDE
	{
		int on = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
		return MOD_RES_PASSTHRU;
	}

	/* NICK, USER, CAP END, PASS, AUTHENTICATE, WEBIRC, ...: any of them can be
	 * the last thing registration was waiting for. */
	void OnPostCommand(Command*, const CommandBase::Params&, LocalUser* user, CmdResult, bool) CXX11_OVERRIDE
	{
		TryConnect(user);
	}

	/* Some modules consume a command in OnPreCommand to release a hold (e.g.
	 * conn_waitpong's registration PONG); the core then reports it as blocked,
	 * not executed. */
	void OnCommandBlocked(const std::string&, const CommandBase::Params&, LocalUser* user) CXX11_OVERRIDE
	{
		TryConnect(user);
	}

	Version GetVersion() CXX11_OVERRIDE
	{
		return Version("Alloquy: completes client registration (001) as soon as NICK, USER and CAP END are in and every module reports ready, instead of on InspIRCd's once-a-second background pass; turns off Nagle's algorithm on accepted sockets.");
	}
};

MODULE_INIT(ModuleAlloquyFastConnect)
