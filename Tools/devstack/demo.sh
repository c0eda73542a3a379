#!/usr/bin/env bash
# A short narrated journey of one worker through the running suite.
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/env.sh"
E="http://127.0.0.1:$(port_of enrolment)"
C="http://127.0.0.1:$(port_of contribution)"
S="http://127.0.0.1:$(port_of subsidy)"
W="http://127.0.0.1:$(port_of withdrawal)"
hpfctl="$HPF_ROOT/.build/${HPF_BUILD:-debug}/hpfctl"

say() { printf '\n\033[1;32m== %s\033[0m\n' "$*"; }
show() { printf '\033[0;36m$ %s\033[0m\n' "$*"; }

# A valid resident ID number (GB 11643 check character) for a streamer born in 1999 in Donghai.
resident_id() {
  local body="320722199907$(printf '%02d' $((RANDOM % 28 + 1)))$(printf '%03d' $((RANDOM % 500 * 2 + 1)))"
  local weights=(7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2) checks=(1 0 X 9 8 7 6 5 4 3 2) sum=0
  for i in $(seq 0 16); do sum=$((sum + ${body:$i:1} * ${weights[$i]})); done
  echo "$body${checks[$((sum % 11))]}"
}
id_number="$(resident_id)"
# She signs in to the city's app (real-name verified): the development identity provider issues her token.
token="$("$hpfctl" token citizen --id-number "$id_number")"
auth=(-H "authorization: Bearer $token")

say "1. A live-stream host selling Donghai crystal joins the scheme (§1, §2, §15)"
body=$(cat <<JSON
{"name":"李晓雨","idNumber":"$id_number","phone":"13905181234","employmentType":"new_form",
 "industry":"ecommerce_crystal","role":"streamer","county":"320722","residence":"rural","childrenCount":0,
 "education":{"level":"bachelor","graduationDate":"2025-06-30"},
 "agreement":{"schedule":"monthly","amountFen":50000,"channel":"wechat"}}
JSON
)
show "POST $E/v1/enrolments"
reply=$(curl -s "${auth[@]}" -XPOST "$E/v1/enrolments" -H 'content-type: application/json' -d "$body")
echo "$reply" | jq .
account=$(echo "$reply" | jq -r .accountNumber)

say "2. Her account as she sees it in the app: the ID number is masked; without a token, nothing"
show "GET $E/v1/accounts/$account"
curl -s "${auth[@]}" "$E/v1/accounts/$account" | jq '{accountNumber, status, idNumber, phone, county, agreement, monthlyMinimumFen}'
show "GET $E/v1/accounts/$account   (anonymous)"
curl -s -w '  (HTTP %{http_code})\n' "$E/v1/accounts/$account"

say "3. The ledger opens her account from the account-opened event (no call between services)"
for _ in $(seq 1 100); do curl -fs "${auth[@]}" "$C/v1/accounts/$account/balance" >/dev/null && break; sleep 0.1; done
curl -s "${auth[@]}" "$C/v1/accounts/$account/balance" | jq -c .

say "4. She pays in 500.00 yuan with WeChat Pay (WeChat Pay's notification is signed with its registered key)"
paid_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
txn="wx-demo-$RANDOM$RANDOM"
deposit="{\"accountNumber\":\"$account\",\"amountFen\":50000,\"channel\":\"wechat\",\"channelTxnId\":\"$txn\",\"paidAt\":\"$paid_at\"}"
show "POST $C/v1/contributions"
"$hpfctl" call --as channel:wechat --status POST "$C/v1/contributions" "$deposit"

say "5. WeChat Pay delivers the same notification again: same answer, no second posting"
"$hpfctl" call --as channel:wechat --status POST "$C/v1/contributions" "$deposit"

say "6. A 50.00 yuan payment is below the county's minimum (§2): refused with the minimum"
low="{\"accountNumber\":\"$account\",\"amountFen\":5000,\"channel\":\"alipay\",\"channelTxnId\":\"ali-demo-$RANDOM\",\"paidAt\":\"$paid_at\"}"
"$hpfctl" call --as channel:alipay POST "$C/v1/contributions" "$low" | jq -c '{status, code, minimumFen}'

say "7. Within seconds her opening subsidy arrives: 400.00 yuan, a graduate within 2 years (§3)"
for _ in $(seq 1 100); do
  [ "$(curl -s "${auth[@]}" "$C/v1/accounts/$account/balance" | jq .subsidyFen)" != "0" ] && break; sleep 0.1
done
show "GET $S/v1/accounts/$account/subsidies"
curl -s "${auth[@]}" "$S/v1/accounts/$account/subsidies" | jq -c .

say "8. Her balance and ledger: contribution plus subsidy, each an immutable posting"
curl -s "${auth[@]}" "$C/v1/accounts/$account/balance" | jq -c .
curl -s "${auth[@]}" "$C/v1/accounts/$account/ledger" | jq -c '.entries[]'

# Waits until a withdrawal's saga ends (paid or rejected) and shows it.
settle() {
  for _ in $(seq 1 150); do
    [ "$(curl -s "${auth[@]}" "$W/v1/withdrawals/$1" | jq -r .status)" != "pending" ] && break; sleep 0.1
  done
  curl -s "${auth[@]}" "$W/v1/withdrawals/$1" | jq -c '{withdrawalId, reason, status, code, amountFen, payee, steps: [.steps[].stage]}'
}

say "9. She withdraws 300.00 yuan for this month's rent, paid to her landlord (§4, §8)"
echo "   (saga: withdrawal-requested -> the ledger debits -> payout to the payment channel -> paid;"
echo "    make run's simulated channel confirms every payout)"
landlord='{"kind":"landlord","name":"王芳","bankAccount":"6217000099998888","bankName":"连云港农商银行"}'
rent="{\"accountNumber\":\"$account\",\"reason\":\"rent\",\"amountFen\":30000,\"payee\":$landlord,\"evidence\":{\"leaseContractNumber\":\"ZL-$RANDOM\",\"monthlyRentFen\":120000,\"months\":1}}"
show "POST $W/v1/withdrawals"
reply=$(curl -s "${auth[@]}" -XPOST "$W/v1/withdrawals" -H 'content-type: application/json' -d "$rent")
echo "$reply" | jq -c '{withdrawalId, status, stage}'
settle "$(echo "$reply" | jq -r .withdrawalId)"

say "10. She sets up monthly direct payment of 200.00 yuan to the landlord for 6 months (§8)"
plan="{\"accountNumber\":\"$account\",\"payee\":$landlord,\"leaseContractNumber\":\"ZL-$RANDOM$RANDOM\",\"monthlyRentFen\":120000,\"monthlyFen\":20000,\"months\":6}"
show "POST $W/v1/rent-plans"
reply=$(curl -s "${auth[@]}" -XPOST "$W/v1/rent-plans" -H 'content-type: application/json' -d "$plan")
plan_id=$(echo "$reply" | jq -r .planId)
settle "$(echo "$reply" | jq -r '.history[0].withdrawalId')" >/dev/null
curl -s "${auth[@]}" "$W/v1/rent-plans/$plan_id" | jq -c '{planId, status, monthlyFen, months, monthsPaid, nextMonth, history}'

say "11. A 1,000.00 yuan purchase withdrawal exceeds her balance: the ledger refuses it, nothing moves"
buy="{\"accountNumber\":\"$account\",\"reason\":\"purchase\",\"amountFen\":100000,\"payee\":{\"kind\":\"seller\",\"name\":\"东海水晶城置业\",\"bankAccount\":\"6222020200112233445\"},\"evidence\":{\"contractNumber\":\"GF-$RANDOM\",\"priceFen\":80000000,\"payeeBankAccount\":\"6222020200112233445\"}}"
reply=$(curl -s "${auth[@]}" -XPOST "$W/v1/withdrawals" -H 'content-type: application/json' -d "$buy")
settle "$(echo "$reply" | jq -r .withdrawalId)"
curl -s "${auth[@]}" "$C/v1/accounts/$account/balance" | jq -c .

say "12. End of the day: each channel's statement is reconciled with the ledger and the payouts (对账)"
echo "   (WeChat Pay collected 300.00 yuan from her whose notification never reached us, and the bank paid a"
echo "    100.00 yuan rent withdrawal whose confirmation was lost on the way (make run's simulated channel loses"
echo "    those to accounts ending 7777). Each statement is signed by its channel and imported by a fund officer:"
echo "    the lost deposit is posted and the lost payout settled, once; anything else that differs is flagged)"
lost_landlord='{"kind":"landlord","name":"王芳","bankAccount":"6217000099997777","bankName":"连云港农商银行"}'
rent2="{\"accountNumber\":\"$account\",\"reason\":\"rent\",\"amountFen\":10000,\"payee\":$lost_landlord,\"evidence\":{\"leaseContractNumber\":\"ZL-$RANDOM$RANDOM\",\"monthlyRentFen\":120000,\"months\":1}}"
lost_withdrawal=$(curl -s "${auth[@]}" -XPOST "$W/v1/withdrawals" -H 'content-type: application/json' -d "$rent2" | jq -r .withdrawalId)
for _ in $(seq 1 150); do
  [ "$(curl -s "${auth[@]}" "$W/v1/withdrawals/$lost_withdrawal" | jq -r .stage)" = "paying" ] && break; sleep 0.1
done
curl -s "${auth[@]}" "$W/v1/withdrawals/$lost_withdrawal" | jq -c '{withdrawalId, status, stage, amountFen}'
reconcile() {
  show "hpfctl channel-statement $*"
  out=$("$hpfctl" channel-statement "$@")
  echo "$out" | grep -v '^[{(]' | sed 's/^/   /'
  echo "$out" | grep '^{' | jq -c '{statementId, kind, lines, matched, posted, settled, flagged, discrepancies: [.discrepancies[] | {kind, reference, resolution, code}]}'
}
reconcile deposits --channel wechat --lost "$account:30000" --url "$C"
reconcile payouts --channel bank_card --url "$W"
settle "$lost_withdrawal"
curl -s "${auth[@]}" "$C/v1/accounts/$account/balance" | jq -c '{accountNumber, balanceFen, contributedFen, withdrawnFen}'

L="http://127.0.0.1:$(port_of loan)"
say "13. She asks what she could borrow for a first home (§4-§7, §10): every factor is shown"
show "GET $L/v1/accounts/$account/loan-quota?priceFen=60000000&termMonths=240&green=true"
curl -s "${auth[@]}" "$L/v1/accounts/$account/loan-quota?priceFen=60000000&termMonths=240&green=true" | jq -c .
echo "   (one contribution month: not yet eligible; 6 are needed, §4)"

R="http://127.0.0.1:$(port_of regional-sync)"
# Waits until a transfer reaches a final state (00, 13, 05, 40) and shows it.
transfer_done() {
  for _ in $(seq 1 150); do
    case "$(curl -s "${auth[@]}" "$R/v1/transfers/$1" | jq -r .state)" in 00|13|05|40) break ;; esac; sleep 0.1
  done
  curl -s "${auth[@]}" "$R/v1/transfers/$1" | jq -c '{transferId, direction, letterNumber, partnerCity, state, stateName, code, principalFen, interestFen, amountFen, steps: [.steps[].state]}'
}

say "14. She brings her account from Xuzhou, where she worked before (§17 border-region transfer in)"
echo "   (we send a signed contact letter on the partner feed, her name and ID number sealed to Xuzhou's key;"
echo "    make run's simulated Xuzhou centre accepts it and sends its transfer-out data, and its bank the money;"
echo "    we check amount = principal + interest and wait for our bank's settlement notice of the same amount,"
echo "    the ledger credits it, her Xuzhou months are recognised here, and we confirm)"
show "POST $R/v1/transfers/in"
reply=$(curl -s "${auth[@]}" -XPOST "$R/v1/transfers/in" -H 'content-type: application/json' \
  -d "{\"accountNumber\":\"$account\",\"name\":\"李晓雨\",\"idNumber\":\"$id_number\",\"partnerCity\":\"320300\"}")
echo "$reply" | jq -c '{transferId, letterNumber, state, stateName, idNumberMasked}'
transfer_done "$(echo "$reply" | jq -r .transferId)"
curl -s "${auth[@]}" "$R/v1/accounts/$account/recognised-months" | jq -c '{accountNumber, count, first: .months[0].month, last: .months[-1].month}'
curl -s "${auth[@]}" "$C/v1/accounts/$account/balance" | jq -c .

say "15. The loan pre-assessment now counts her recognised months (§4: 6 are needed)"
for _ in $(seq 1 50); do
  curl -s "${auth[@]}" "$L/v1/accounts/$account/loan-quota?priceFen=60000000&termMonths=240" | jq -e '.reasons | index("contribution_months_below_6") | not' >/dev/null && break
  sleep 0.1
done
curl -s "${auth[@]}" "$L/v1/accounts/$account/loan-quota?priceFen=60000000&termMonths=240" | jq -c '{eligible, reasons, quotaFen: .quota.quotaFen, bindingFactor: .quota.bindingFactor}'

say "16. She moves to Suqian: Suqian's centre asks for her account (transfer out), our bank pays it all to Suqian, we close it"
show "hpfctl partner-city apply --city 321300 --id-number ${id_number:0:4}**********${id_number:14:4}"
letter=$("$hpfctl" partner-city apply --city 321300 --id-number "$id_number" --name 李晓雨 --url "$R")
for _ in $(seq 1 150); do
  [ "$(curl -s "${auth[@]}" "$C/v1/accounts/$account/balance" | jq -r .status)" = "closed" ] && break; sleep 0.1
done
curl -s "${auth[@]}" "$R/v1/accounts/$account/transfers" | jq -c --arg l "$letter" '.transfers[] | select(.letterNumber == $l) | {direction, letterNumber, partnerCity, state, stateName, amountFen, steps: [.steps[].state]}'
curl -s "${auth[@]}" "$C/v1/accounts/$account/balance" | jq -c .

say "17. The events other services and analytics see (keyed by account number, no ID number)"
show "hpfctl events hpf.enrolment.events.v1 --key $account"
"$hpfctl" events hpf.enrolment.events.v1 --key "$account"
show "hpfctl events hpf.contribution.events.v1 --key $account"
"$hpfctl" events hpf.contribution.events.v1 --key "$account"
show "hpfctl events hpf.subsidy.events.v1 --key $account"
"$hpfctl" events hpf.subsidy.events.v1 --key "$account"
show "hpfctl events hpf.withdrawal.events.v1 --key $account"
"$hpfctl" events hpf.withdrawal.events.v1 --key "$account"
show "hpfctl events hpf.regional.events.v1 --key $account"
"$hpfctl" events hpf.regional.events.v1 --key "$account"

say "18. Every money-moving request left a tamper-evident audit record; an auditor reads and verifies the chain"
auditor=(-H "authorization: Bearer $("$hpfctl" token staff --staff-id auditor-1 --role auditor)")
show "GET $W/v1/audit   (auditor)"
curl -s "${auditor[@]}" "$W/v1/audit" | jq -c --arg a "$account" '.records[] | select(.entry.account == $a) | {seq, subject: .entry.subject, action: .entry.action, status: .entry.status}'
show "GET $C/v1/audit/verification   (auditor)"
curl -s "${auditor[@]}" "$C/v1/audit/verification" | jq -c .
