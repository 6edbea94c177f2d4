# The service the MSI installed, and its client run by a real standard
# user (real Windows only; .github/workflows/windows.yml runs it right after
# `msiexec /i`). From an elevated Windows PowerShell 5.1:
#   installed.ps1 -Daemon "C:\Program Files\LinkBroker\linkbrokerd.exe" `
#                 -Client "C:\Program Files\LinkBroker\linkbroker.exe"
# Checks: the LinkBroker service runs as LocalSystem and its Event Log
# entries have their text (the message table in linkbrokerd.exe). Then it
# creates the local user lbuser (net user: a member of Users only), makes its
# key with keygen run as that user, enrolls the printed block in a policy
# that allows it symbolic links under C:\lbstd\links, reloads the service,
# and as lbuser: status (genuine, enrolled), one allowed symbolic link (on
# disk, readable through, audited for lbuser) and one denial (exit 1 with
# its reason, nothing made, audited). The user is deleted at the end; the
# policy it wrote stays. Prints "installed: N passed, M failed"; exit 1 on
# any failure.
param(
	[Parameter(Mandatory = $true)][string]$Daemon,
	[Parameter(Mandatory = $true)][string]$Client
)
# Not 'Stop': Windows PowerShell 5.1 turns a native program's redirected
# stderr into errors, which 'Stop' would make fatal. Exit codes are checked,
# and any error that ends a statement (a check that could not be evaluated)
# counts as a failure.
$ErrorActionPreference = 'Continue'
$pass = 0
$fail = 0
trap { $script:fail++; Write-Output "FAIL: $_ ($($_.InvocationInfo.PositionMessage))"; continue }
function Check([string]$what, [bool]$cond) {
	if ($cond) { $script:pass++ } else { $script:fail++; Write-Output "FAIL: $what" }
}

$user = 'lbuser'
$root = 'C:\lbstd'
$pd = Join-Path $env:ProgramData 'LinkBroker'
# 14 characters: net user asks a question (y/n) for longer ones; upper, lower,
# digit and symbol always present for the complexity rule.
$pw = 'Lb1!' + ([guid]::NewGuid().ToString('N').Substring(0, 10))
$secure = ConvertTo-SecureString $pw -AsPlainText -Force

# As: LinkBroker's client as $user, its output and exit code. A .NET
# Process with credentials is CreateProcessWithLogonW: an interactive logon
# (the service refuses network logons), the user's profile loaded so that
# DPAPI and %LOCALAPPDATA% are that user's. The environment is left unset
# so that Windows builds it from the user's profile, not from ours.
function As([string[]]$argv) {
	$psi = New-Object System.Diagnostics.ProcessStartInfo
	$psi.FileName = $Client
	$psi.Arguments = $argv -join ' '      # no argument here has spaces or quotes
	$psi.UserName = $user
	$psi.Domain = $env:COMPUTERNAME
	$psi.Password = $secure
	$psi.LoadUserProfile = $true
	$psi.UseShellExecute = $false
	$psi.CreateNoWindow = $true
	$psi.WorkingDirectory = $root         # the user may not read our folder
	$psi.RedirectStandardOutput = $true
	$psi.RedirectStandardError = $true
	try { $p = [System.Diagnostics.Process]::Start($psi) }
	catch { return [pscustomobject]@{ Code = -1; Out = "could not start it as ${user}: $($_.Exception.Message)" } }
	$o = $p.StandardOutput.ReadToEndAsync()
	$e = $p.StandardError.ReadToEndAsync()
	if (-not $p.WaitForExit(60000)) { $p.Kill(); throw "linkbroker $argv as ${user}: no answer in 60 s" }
	$p.WaitForExit()                      # the streams are complete after this one
	[pscustomobject]@{ Code = $p.ExitCode; Out = ($o.Result + $e.Result).Replace("`r", '') }
}
function Expect([int]$code, [string]$text, [string[]]$argv) {
	$r = As $argv
	Check "linkbroker $argv as $user => exit $($r.Code) (want $code, '$text'): $($r.Out)" `
		($r.Code -eq $code -and $r.Out.Contains($text))
}

# --- the user and its folders: links and elsewhere writable by it ---
& net.exe user $user /delete 2>$null | Out-Null
& net.exe user $user $pw /add | Out-Null
if ($LASTEXITCODE -ne 0) { throw "net user $user /add failed ($LASTEXITCODE)" }
try {
	Remove-Item -Recurse -Force $root -ErrorAction SilentlyContinue
	foreach ($d in 'links', 'elsewhere', 'targets') { New-Item -ItemType Directory "$root\$d" -ErrorAction Stop | Out-Null }
	Set-Content -Path "$root\targets\t.txt" -Value 'data' -ErrorAction Stop
	foreach ($d in 'links', 'elsewhere') {
		& icacls.exe "$root\$d" /grant "${user}:(OI)(CI)M" | Out-Null
		if ($LASTEXITCODE -ne 0) { throw "icacls $root\$d failed" }
	}

	# --- the installed service ---
	$svc = Get-CimInstance Win32_Service -Filter "Name='LinkBroker'"
	Check "the MSI installed the LinkBroker service: LocalSystem, automatic start, from Program Files: $($svc | Format-List Name,State,StartMode,StartName,PathName | Out-String)" `
		($null -ne $svc -and $svc.StartName -eq 'LocalSystem' -and $svc.StartMode -eq 'Auto' -and
		 $svc.PathName -like "*$Daemon*")
	# linkbrokerd install registers the service and does not start it ("start
	# it now with 'sc start LinkBroker'"), so the MSI leaves it stopped until
	# the next boot, although packaging/linkbroker.wxs says install starts it.
	if ($null -ne $svc -and $svc.State -ne 'Running') {
		Write-Output "NOTE: the service is $($svc.State) after msiexec /i (starts at boot); starting it"
		Start-Service LinkBroker
	}
	$svc = Get-CimInstance Win32_Service -Filter "Name='LinkBroker'"
	Check "the service runs: $($svc.State)" ($null -ne $svc -and $svc.State -eq 'Running')
	# Message is empty when Windows cannot format the entry from the source's
	# EventMessageFile: the message table missing or the source not registered.
	$ev = @(Get-WinEvent -ProviderName LinkBroker -MaxEvents 20 -ErrorAction SilentlyContinue)
	Check "the service wrote to the Event Log" ($ev.Count -ge 1)
	$ev | Format-Table -AutoSize TimeCreated, Id, LevelDisplayName, Message | Out-String -Width 200 | Write-Output
	Check "every LinkBroker event has its text" (@($ev | Where-Object { -not $_.Message }).Count -eq 0)

	# --- keygen as the user; the admin enrolls the block it printed ---
	$k = As @('keygen', '--force')
	Check "keygen as $user exits 0: $($k.Out)" ($k.Code -eq 0)
	$pub = if ($k.Out -match '(?m)^public_key = (\S+)$') { $Matches[1] } else { '' }
	$name = if ($k.Out -match '(?m)^user = (\S+)$') { $Matches[1] } else { '' }
	Check "keygen printed the block for $user (user = $name)" ($pub -ne '' -and $name -eq $user)
	$sid = (New-Object System.Security.Principal.NTAccount($user)).Translate([System.Security.Principal.SecurityIdentifier]).Value
	$prof = (Get-CimInstance Win32_UserProfile -Filter "SID='$sid'").LocalPath
	Check "the key is in $user's own profile ($prof), not ours" `
		($null -ne $prof -and (Test-Path "$prof\AppData\Local\LinkBroker\key"))
	$policy = @"
[broker]
audit_sync = always

[key:$user]
user = $user
public_key = $pub

[rule:std-links]
users = $user
kinds = symlink
link_under = $root\links
target_under = $root\targets
action = allow
"@
	# Rewritten in place: the file keeps the owner and DACL install gave it.
	[System.IO.File]::WriteAllText("$pd\policy.ini", $policy)
	$out = & $Daemon check-config --flavor windows "$pd\policy.ini" 2>&1 | Out-String
	Check "the enrolled policy is valid: $out" ($LASTEXITCODE -eq 0)
	$out = & $Daemon reload 2>&1 | Out-String
	Check "linkbrokerd reload exits 0: $out" ($LASTEXITCODE -eq 0)

	# --- as the standard user ---
	$r = $null
	for ($i = 0; $i -lt 50; $i++) {          # the reload is asynchronous
		$r = As @('status')
		if ($r.Code -eq 0 -and $r.Out.Contains('enrolled: yes')) { break }
		Start-Sleep -Milliseconds 100
	}
	Check "status as ${user}: genuine service, key enrolled: $($r.Out)" `
		($r.Code -eq 0 -and $r.Out.Contains('enrolled: yes'))

	Expect 0 "symbolic link created for $root\links\s.txt <<===>> $root\targets\t.txt" `
		@("$root\links\s.txt", "$root\targets\t.txt")
	$l = Get-Item -Force -LiteralPath "$root\links\s.txt" -ErrorAction SilentlyContinue
	Check "a symbolic link on disk" ($null -ne $l -and $l.LinkType -eq 'SymbolicLink')
	Check "read through the link: the target's data" `
		("$(Get-Content -LiteralPath "$root\links\s.txt" -ErrorAction SilentlyContinue)" -eq 'data')

	Expect 1 'no rule allows this link' @("$root\elsewhere\s.txt", "$root\targets\t.txt")
	Check "nothing made outside link_under" (-not (Test-Path -LiteralPath "$root\elsewhere\s.txt"))

	# Records are {"seq":..,"time":..,"event":..,"verdict":..,"user":..,..,"link":..}.
	$log = @(Get-Content -LiteralPath "$pd\audit.log")
	Check "the allowed link audited for $user" `
		(@($log -match ('"verdict":"allowed","user":"' + $user + '".*links\\\\s\.txt')).Count -ge 1)
	Check "the denial audited for $user" `
		(@($log -match ('"verdict":"denied","user":"' + $user + '".*elsewhere\\\\s\.txt')).Count -ge 1)
} finally {
	& net.exe user $user /delete | Out-Null
}

Write-Output "installed: $pass passed, $fail failed"
if ($fail -ne 0) { exit 1 }
exit 0
